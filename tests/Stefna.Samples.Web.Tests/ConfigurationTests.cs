using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Assets;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Providers.Offline;
using Stefna.Sdk.Sqlite;
using Stefna.TestUtils;

namespace Stefna.Samples.Web.Tests;

/// <summary>The sample binds every SDK option from its <c>appsettings.json</c> (and whatever overrides it), not by hand.</summary>
public sealed class ConfigurationTests
{
    [Fact]
    public async Task The_sample_binds_the_sdk_types_store_storage_and_provider_from_configuration()
    {
        var app = new WebAppFixture
        {
            ExtraArgs =
            [
                "--Stefna:Types:neo-glitch:MaxInFlight=7",
                "--Stefna:MaxPromptLength=123",
                "--Stefna:Offline:MaxDimension=256",
                "--Stefna:Sqlite:BusyTimeout=00:00:09",
            ],
        };
        await app.InitializeAsync();
        try
        {
            Assert.Equal(123, app.Services.GetRequiredService<IOptions<StefnaOptions>>().Value.MaxPromptLength);
            Assert.Equal(7, app.Services.GetRequiredService<IOptionsMonitor<GenerationTypeOptions>>().Get("neo-glitch").MaxInFlight);
            Assert.Equal(256, app.Services.GetRequiredService<IOptions<OfflineProviderOptions>>().Value.MaxDimension);
            var sqlite = app.Services.GetRequiredService<IOptions<SqliteStoreOptions>>().Value;
            Assert.Equal(TimeSpan.FromSeconds(9), sqlite.BusyTimeout);
            Assert.Equal(Path.Combine(app.DataDirectory, "stefna.db"), sqlite.DatabasePath);
            var files = app.Services.GetRequiredService<IOptions<LocalFileAssetStorageOptions>>().Value;
            Assert.Equal(Path.Combine(app.DataDirectory, "images"), files.RootPath);
            Assert.Equal("/media/", files.PublicBaseUrl);
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_bad_setting_stops_the_sample_at_start_naming_its_configuration_key()
    {
        var app = new WebAppFixture { ExtraArgs = ["--Stefna:Types:presets:MaxInFlight=0", "--Stefna:Offline:MaxDimension=3"] };
        var ex = await Assert.ThrowsAnyAsync<Exception>(app.InitializeAsync);
        await app.DisposeAsync();
        Assert.Contains("Stefna:Types:presets:MaxInFlight must be between", ex.ToString(), StringComparison.Ordinal);
        Assert.Contains("Stefna:Offline:MaxDimension must be between", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Provider_OpenAI_binds_Stefna_OpenAI_from_appsettings_and_overrides()
    {
        var app = new WebAppFixture
        {
            ExtraArgs = ["--Stefna:Provider=OpenAI", "--Stefna:OpenAI:ApiKey=sk-web-secret-5150", "--Stefna:OpenAI:Model=gpt-image-1-mini", "--Stefna:OpenAI:ImageSize=1024x1024"],
        };
        await app.InitializeAsync();
        try
        {
            var openai = app.Services.GetRequiredService<IOptionsMonitor<Stefna.Sdk.Extensions.AI.OpenAIImageProviderOptions>>().Get("openai");
            Assert.Equal("gpt-image-1-mini", openai.Model);
            Assert.Equal("1024x1024", openai.ImageSize);
            Assert.Equal(new Uri("https://api.openai.com/v1"), openai.Endpoint); // from appsettings.json
            Assert.Equal(TimeSpan.FromSeconds(100), openai.NetworkTimeout);
            Assert.DoesNotContain("sk-web-secret-5150", openai.ToString(), StringComparison.Ordinal);
            Assert.Equal("openai", app.Services.GetRequiredService<Stefna.Sdk.Providers.IImageProvider>().Name);
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task Polly_logs_only_warnings_while_the_sample_logs_at_information()
    {
        // Polly's telemetry logs every execution at Information with a dump of the result object; the sample keeps it
        // to warnings (retries, circuit changes) whatever the default level.
        var app = new WebAppFixture { ExtraArgs = ["--Logging:LogLevel:Default=Information"] };
        await app.InitializeAsync();
        try
        {
            var loggers = app.Services.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>();
            Assert.False(loggers.CreateLogger("Polly").IsEnabled(Microsoft.Extensions.Logging.LogLevel.Information));
            Assert.True(loggers.CreateLogger("Polly").IsEnabled(Microsoft.Extensions.Logging.LogLevel.Warning));
            Assert.True(loggers.CreateLogger("Stefna.Sdk.Pipeline.GenerationWorker").IsEnabled(Microsoft.Extensions.Logging.LogLevel.Information));
        }
        finally
        {
            await app.DisposeAsync();
        }
    }
}
