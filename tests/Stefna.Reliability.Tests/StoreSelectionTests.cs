using Microsoft.Extensions.DependencyInjection;
using Stefna.Sdk.Postgres;
using Stefna.Sdk.Sqlite;
using Stefna.Sdk.Storage;

namespace Stefna.Reliability.Tests;

/// <summary>Choosing a store is one call: the store chosen last is the store, and only its wake-up source is registered.</summary>
public sealed class StoreSelectionTests
{
    private const string Connection = "Host=127.0.0.1;Port=1;Username=nobody;Database=none";

    /// <summary>Before: UsePostgres(...).UseSqlite(...) left PostgreSQL's notification source registered beside the SQLite
    /// store, so workers listened to a database that held none of their jobs.</summary>
    [Fact]
    public void Choosing_sqlite_after_postgres_drops_postgres_wake_up_source()
    {
        using var data = new TestUtils.TempDirectory();
        var services = new ServiceCollection().AddLogging();
        services.AddStefna(o => o.RunWorker = false).UsePostgres(Connection).UseSqlite(data.File("stefna.db"));
        using var provider = services.BuildServiceProvider();

        Assert.IsType<SqliteMediaStore>(provider.GetRequiredService<IMediaStore>());
        Assert.Empty(provider.GetServices<IJobNotificationSource>());
    }

    /// <summary>The other way round, PostgreSQL's store is the store and its own wake-up source, once.</summary>
    [Fact]
    public void Choosing_postgres_after_sqlite_registers_its_wake_up_source_once()
    {
        using var data = new TestUtils.TempDirectory();
        var services = new ServiceCollection().AddLogging();
        services.AddStefna(o => o.RunWorker = false).UseSqlite(data.File("stefna.db")).UsePostgres(Connection).UsePostgres(Connection);
        using var provider = services.BuildServiceProvider();

        var store = Assert.IsType<PostgresMediaStore>(provider.GetRequiredService<IMediaStore>());
        Assert.Same(store, Assert.Single(provider.GetServices<IJobNotificationSource>()));
    }
}
