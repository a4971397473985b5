using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Assets;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Providers.Offline;
using Stefna.Sdk.Sqlite;
using Stefna.TestUtils;

namespace Stefna.Sdk.Tests;

/// <summary><c>AddStefna(configuration)</c>: every option from one <c>Stefna</c> section of <c>appsettings.json</c>,
/// code after configuration, and validation failures that name the configuration key.</summary>
public class ConfigurationBindingTests
{
    private static HostApplicationBuilder Builder(string json)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json)));
        return builder;
    }

    // Every value from configuration: no path, option or key given in code.
    private static IHost FromConfigurationOnly(string json)
    {
        var builder = Builder(json);
        builder.Services.AddStefna(builder.Configuration.GetSection("Stefna"))
            .AddGenerator<PromptOnlyTestGenerator>(PromptOnlyTestGenerator.TypeName)
            .UseSqlite()
            .UseLocalFileStorage()
            .UseOfflineProvider();
        return builder.Build();
    }

    private static string Json(TempDirectory dir, string typeOptions = """{ "MaxInFlight": 3, "ProviderRetries": 0 }""") => $$"""
        {
          "Stefna": {
            "MaxAttempts": 5,
            "IdlePollInterval": "00:00:00.050",
            "MaxPromptLength": 321,
            "Types": { "prompt-test": {{typeOptions}} },
            "Sqlite": { "DatabasePath": "{{dir.File("stefna.db").Replace("\\", "\\\\", StringComparison.Ordinal)}}", "BusyTimeout": "00:00:07" },
            "LocalFiles": { "RootPath": "{{dir.File("images").Replace("\\", "\\\\", StringComparison.Ordinal)}}" },
            "Offline": { "MaxDimension": 128 }
          }
        }
        """;

    [Fact]
    public async Task A_host_configured_only_from_appsettings_binds_every_option_and_runs_a_job()
    {
        using var dir = new TempDirectory();
        using var host = FromConfigurationOnly(Json(dir));

        var sdk = host.Services.GetRequiredService<IOptions<StefnaOptions>>().Value;
        Assert.Equal(5, sdk.MaxAttempts);
        Assert.Equal(321, sdk.MaxPromptLength);
        Assert.Equal(TimeSpan.FromMilliseconds(50), sdk.IdlePollInterval);
        var type = host.Services.GetRequiredService<IOptionsMonitor<GenerationTypeOptions>>().Get(PromptOnlyTestGenerator.TypeName);
        Assert.Equal(3, type.MaxInFlight);
        Assert.Equal(0, type.ProviderRetries);
        Assert.Equal(dir.File("stefna.db"), host.Services.GetRequiredService<IOptions<SqliteStoreOptions>>().Value.DatabasePath);
        Assert.Equal(TimeSpan.FromSeconds(7), host.Services.GetRequiredService<IOptions<SqliteStoreOptions>>().Value.BusyTimeout);
        Assert.Equal(dir.File("images"), host.Services.GetRequiredService<IOptions<LocalFileAssetStorageOptions>>().Value.RootPath);
        Assert.Equal(128, host.Services.GetRequiredService<IOptions<OfflineProviderOptions>>().Value.MaxDimension);

        await host.StartAsync();
        try
        {
            var pipeline = host.Services.GetRequiredService<IGenerationPipeline>();
            var ticket = await pipeline.SubmitAsync(new GenerationRequest { Type = PromptOnlyTestGenerator.TypeName, UserId = "u", Prompt = "a lighthouse" });
            var job = await pipeline.WaitForCompletionAsync(ticket.Type, ticket.Id, "u", TimeSpan.FromSeconds(60));
            Assert.Equal(GenerationStatus.Completed, job.Status);
            Assert.StartsWith(new Uri(dir.File("images")).AbsoluteUri, job.ImageUrl, StringComparison.Ordinal);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public void Options_set_in_code_win_over_configuration_whatever_the_order_of_the_calls()
    {
        using var dir = new TempDirectory();
        var builder = Builder(Json(dir));
        // BindConfiguration last: it still applies to the type and packages added before it, and code still wins.
        builder.Services.AddStefna(o => o.MaxAttempts = 9)
            .AddGenerator<PromptOnlyTestGenerator>(PromptOnlyTestGenerator.TypeName, o => o.MaxInFlight = 11)
            .UseSqlite(dir.File("other.db"))
            .BindConfiguration("Stefna");
        using var host = builder.Build();
        var sdk = host.Services.GetRequiredService<IOptions<StefnaOptions>>().Value;
        Assert.Equal(9, sdk.MaxAttempts);
        Assert.Equal(321, sdk.MaxPromptLength);
        var type = host.Services.GetRequiredService<IOptionsMonitor<GenerationTypeOptions>>().Get(PromptOnlyTestGenerator.TypeName);
        Assert.Equal(11, type.MaxInFlight);
        Assert.Equal(0, type.ProviderRetries);
        var sqlite = host.Services.GetRequiredService<IOptions<SqliteStoreOptions>>().Value;
        Assert.Equal(dir.File("other.db"), sqlite.DatabasePath);
        Assert.Equal(TimeSpan.FromSeconds(7), sqlite.BusyTimeout);
    }

    [Fact]
    public async Task Validation_failures_name_the_configuration_key()
    {
        using var dir = new TempDirectory();
        var json = Json(dir, """{ "MaxInFlight": 0 }""")
            .Replace("\"MaxAttempts\": 5", "\"MaxAttempts\": 0", StringComparison.Ordinal)
            .Replace("\"MaxDimension\": 128", "\"MaxDimension\": 1", StringComparison.Ordinal);
        using var host = FromConfigurationOnly(json);
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());
        var text = ex.ToString();
        Assert.Contains("Stefna:MaxAttempts must be at least 1.", text, StringComparison.Ordinal);
        Assert.Contains($"Stefna:Types:{PromptOnlyTestGenerator.TypeName}:MaxInFlight must be between", text, StringComparison.Ordinal);
        Assert.Contains("Stefna:Offline:MaxDimension must be between", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_store_setting_names_its_key()
    {
        using var host = FromConfigurationOnly("""{ "Stefna": { "LocalFiles": { "RootPath": "" } } }""");
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());
        Assert.Contains("Stefna:Sqlite:DatabasePath is required", ex.ToString(), StringComparison.Ordinal);
        Assert.Contains("Stefna:LocalFiles:RootPath is required", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Without_configuration_failures_name_the_options_type_and_member()
    {
        var keys = StefnaConfigurationKeys.Unbound;
        Assert.Equal("SqliteStoreOptions.DatabasePath", keys.KeyOf<SqliteStoreOptions>(null, "DatabasePath"));
        Assert.Equal("GenerationTypeOptions[neo-glitch].MaxInFlight", keys.KeyOf<GenerationTypeOptions>("neo-glitch", "MaxInFlight"));
    }
}
