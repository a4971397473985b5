using Npgsql;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Storage;
using Stefna.Sdk.Testing;
using Stefna.TestUtils;

namespace Stefna.Sdk.Postgres.Tests;

// The store contract suites (the same the SQLite store passes) run against PostgreSQL, one per role the store
// implements (all of them: it parks jobs and keeps a webhook outbox). Each store gets a fresh database, dropped after
// the fact.

/// <summary>The minimal store contract against PostgreSQL.</summary>
public sealed class PostgresContractTests : MediaStoreContractTests
{
    protected override Task<IMediaStore> CreateStoreAsync(IReadOnlyList<GenerationTypeDefinition> types) =>
        DisposeAfterFact(new PostgresContractDatabase()).CreateStoreAsync(types, Ct);
}

/// <summary>The parking suite against PostgreSQL.</summary>
public sealed class PostgresJobParkingContractTests : JobParkingContractTests
{
    protected override Task<IMediaStore> CreateStoreAsync(IReadOnlyList<GenerationTypeDefinition> types) =>
        DisposeAfterFact(new PostgresContractDatabase()).CreateStoreAsync(types, Ct);
}

/// <summary>The webhook outbox suite against PostgreSQL.</summary>
public sealed class PostgresWebhookOutboxContractTests : WebhookOutboxContractTests
{
    protected override Task<IMediaStore> CreateStoreAsync(IReadOnlyList<GenerationTypeDefinition> types) =>
        DisposeAfterFact(new PostgresContractDatabase()).CreateStoreAsync(types, Ct);
}

// One store's database: created with the store, dropped (after its connections are closed) when disposed.
internal sealed class PostgresContractDatabase : IAsyncDisposable
{
    private NpgsqlDataSource? _dataSource;
    private string? _connectionString;

    public async Task<IMediaStore> CreateStoreAsync(IReadOnlyList<GenerationTypeDefinition> types, CancellationToken cancellationToken)
    {
        _connectionString = await PostgresServer.CreateDatabaseAsync("stefna_contract");
        _dataSource = NpgsqlDataSource.Create(_connectionString);
        var store = new PostgresMediaStore(_dataSource);
        await store.InitializeAsync(types, cancellationToken);
        return store;
    }

    public async ValueTask DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
            NpgsqlConnection.ClearAllPools();
        }

        if (_connectionString is not null)
        {
            await PostgresServer.DropDatabaseAsync(_connectionString);
        }
    }
}
