using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using Stefna.Sdk.Postgres.WorkerHost;
using Stefna.TestUtils;

namespace Stefna.Sdk.Postgres.Tests;

/// <summary><c>UsePostgres()</c> takes the <see cref="NpgsqlDataSource"/> the application registered
/// (<c>AddNpgsqlDataSource</c>, as .NET Aspire does), so a host is composed from configuration alone.</summary>
public sealed class DataSourceFromContainerTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private HostApplicationBuilder Builder(TempDirectory images, string channel)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        // What appsettings.json (plus a connection string from the environment or Aspire) would hold.
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:stefna"] = database.ConnectionString,
            ["Stefna:IdlePollInterval"] = "00:00:00.050",
            ["Stefna:Types:queue-test:MaxInFlight"] = "2",
            ["Stefna:Postgres:NotificationChannel"] = channel,
            ["Stefna:LocalFiles:RootPath"] = images.Path,
        });
        return builder;
    }

    [Fact]
    public async Task A_host_configured_only_from_configuration_runs_a_job_on_the_data_source_registered_in_the_container()
    {
        using var images = new TempDirectory();
        var builder = Builder(images, "stefna_from_container");
        builder.Services.AddNpgsqlDataSource(builder.Configuration.GetConnectionString("stefna")!);
        builder.Services.AddStefna(builder.Configuration.GetSection("Stefna"))
            .AddGenerator<QueueTestGenerator>(QueueTestGenerator.TypeName)
            .UsePostgres()
            .UseLocalFileStorage()
            .UseProvider(_ => new PidImageProvider(TimeSpan.Zero));
        using var host = builder.Build();

        var options = host.Services.GetRequiredService<IOptions<PostgresStoreOptions>>().Value;
        Assert.Same(host.Services.GetRequiredService<NpgsqlDataSource>(), options.DataSource);
        Assert.Equal("stefna_from_container", options.NotificationChannel);

        await host.StartAsync();
        try
        {
            var pipeline = host.Services.GetRequiredService<IGenerationPipeline>();
            var ticket = await pipeline.SubmitAsync(new GenerationRequest { Type = QueueTestGenerator.TypeName, UserId = "ds-user", Prompt = "from the container" });
            var job = await pipeline.WaitForCompletionAsync(ticket.Type, ticket.Id, "ds-user", TimeSpan.FromSeconds(60));
            Assert.Equal(GenerationStatus.Completed, job.Status);
        }
        finally
        {
            await host.StopAsync();
        }

        Assert.Equal("completed", await TestTypes.ScalarAsync<string>(database.ConnectionString, "SELECT status FROM queue_test_media WHERE prompt = 'from the container'"));
    }

    [Fact]
    public void UseKeyedPostgres_takes_the_keyed_data_source_and_a_configured_connection_string_wins_over_the_container()
    {
        using var images = new TempDirectory();
        var builder = Builder(images, "stefna_keyed");
        builder.Services.AddNpgsqlDataSource(database.ConnectionString, serviceKey: "jobs");
        builder.Services.AddStefna(builder.Configuration.GetSection("Stefna")).UseKeyedPostgres("jobs");
        using (var host = builder.Build())
        {
            Assert.Same(host.Services.GetRequiredKeyedService<NpgsqlDataSource>("jobs"), host.Services.GetRequiredService<IOptions<PostgresStoreOptions>>().Value.DataSource);
            Assert.Null(host.Services.GetService<NpgsqlDataSource>());
        }

        var configured = Builder(images, "stefna_keyed");
        configured.Configuration["Stefna:Postgres:ConnectionString"] = database.ConnectionString;
        configured.Services.AddNpgsqlDataSource(database.ConnectionString);
        configured.Services.AddStefna(configured.Configuration.GetSection("Stefna")).UsePostgres();
        using var second = configured.Build();
        var options = second.Services.GetRequiredService<IOptions<PostgresStoreOptions>>().Value;
        Assert.Null(options.DataSource);
        Assert.Equal(database.ConnectionString, options.ConnectionString);
    }

    [Fact]
    public void Without_a_data_source_or_a_connection_string_the_failure_names_the_key()
    {
        using var images = new TempDirectory();
        var builder = Builder(images, "stefna_none");
        builder.Services.AddStefna(builder.Configuration.GetSection("Stefna")).UsePostgres();
        using var host = builder.Build();
        var error = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<PostgresStoreOptions>>().Value);
        Assert.Contains("Stefna:Postgres:ConnectionString", error.Message, StringComparison.Ordinal);
        Assert.Contains("AddNpgsqlDataSource", error.Message, StringComparison.Ordinal);
    }
}
