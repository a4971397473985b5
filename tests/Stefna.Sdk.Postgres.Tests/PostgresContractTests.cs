using Npgsql;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Storage;
using Stefna.Sdk.Testing;
using Stefna.TestUtils;

namespace Stefna.Sdk.Postgres.Tests;

/// <summary>The shared store contract (the same suite the SQLite store passes), run against PostgreSQL: each store
/// gets a fresh database, dropped after the fact.</summary>
public sealed class PostgresContractTests : MediaStoreContractTests
{
    private readonly List<(NpgsqlDataSource DataSource, string ConnectionString)> _databases = [];

    protected override async Task<IMediaStore> CreateStoreAsync(IReadOnlyList<GenerationTypeDefinition> types)
    {
        var connectionString = await PostgresServer.CreateDatabaseAsync("stefna_contract");
        var dataSource = NpgsqlDataSource.Create(connectionString);
        _databases.Add((dataSource, connectionString));
        var store = new PostgresMediaStore(dataSource);
        await store.InitializeAsync(types, Ct);
        return store;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        foreach (var (dataSource, connectionString) in _databases)
        {
            await dataSource.DisposeAsync();
            NpgsqlConnection.ClearAllPools();
            await PostgresServer.DropDatabaseAsync(connectionString);
        }
    }
}
