using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Storage;
using Stefna.TestUtils;

namespace Stefna.Sdk.Postgres.Tests;

public sealed class OptionsTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private const string Secret = "s3cr3t-Passw0rd";

    [Fact]
    public void Options_without_a_connection_fail_validation_at_start()
    {
        var services = new ServiceCollection();
        services.AddStefna().UsePostgres(_ => { });
        using var provider = services.BuildServiceProvider();
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<PostgresStoreOptions>>().Value);
        Assert.Contains("connection is required", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_notification_channel_fails_validation()
    {
        var services = new ServiceCollection();
        services.AddStefna().UsePostgres(o =>
        {
            o.ConnectionString = "Host=127.0.0.1;Password=" + Secret;
            o.NotificationChannel = "bad channel; drop table x";
        });
        using var provider = services.BuildServiceProvider();
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<PostgresStoreOptions>>().Value);
        Assert.Contains("NotificationChannel", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UsePostgres_registers_one_store_as_media_store_and_notification_source_and_never_shows_the_password()
    {
        var connectionString = new Npgsql.NpgsqlConnectionStringBuilder(database.ConnectionString) { Password = Secret }.ConnectionString;
        var logs = new CapturingLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        services.AddStefna().UsePostgres(connectionString);
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<IMediaStore>();
        Assert.IsType<PostgresMediaStore>(store);
        Assert.Same(store, provider.GetRequiredService<IJobNotificationSource>());
        await store.InitializeAsync([TestTypes.Unique("di")], CancellationToken.None);

        var options = provider.GetRequiredService<IOptions<PostgresStoreOptions>>().Value;
        Assert.DoesNotContain(Secret, options.ToString(), StringComparison.Ordinal);
        Assert.Contains("***", options.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, store.ToString(), StringComparison.Ordinal);
        Assert.NotEmpty(logs.Lines);
        Assert.All(logs.Lines, line => Assert.DoesNotContain(Secret, line, StringComparison.Ordinal));
    }
    [Fact]
    public async Task UsePostgres_with_an_application_data_source_stores_through_it_and_leaves_it_open()
    {
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(database.ConnectionString);
        var type = TestTypes.Unique("ds");
        var services = new ServiceCollection();
        services.AddStefna().UsePostgres(dataSource);
        var provider = services.BuildServiceProvider();
        var store = Assert.IsType<PostgresMediaStore>(provider.GetRequiredService<IMediaStore>());
        await store.InitializeAsync([type], CancellationToken.None);

        var inserted = await store.InsertAsync(TestTypes.Job(type, "user-ds"), CancellationToken.None);
        Assert.Equal(inserted.Job.Id, (await store.GetAsync(type.Name, inserted.Job.Id, "user-ds", CancellationToken.None))?.Id);

        // The store does not own the application's data source: disposing the container leaves it usable.
        await provider.DisposeAsync();
        await using var command = dataSource.CreateCommand($"SELECT count(*) FROM {type.TableName}");
        Assert.Equal(1L, (long)(await command.ExecuteScalarAsync())!);
    }
}
