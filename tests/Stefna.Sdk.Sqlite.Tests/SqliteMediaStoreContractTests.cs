using Stefna.Sdk.Generators;
using Stefna.Sdk.Storage;
using Stefna.Sdk.Testing;
using Stefna.TestUtils;

namespace Stefna.Sdk.Sqlite.Tests;

// The store contract suites run against SQLite, one per role the store implements (all of them: it parks jobs and
// keeps a webhook outbox). Each store is a fresh database file in its own temp folder, deleted after the fact.

/// <summary>The minimal store contract against SQLite.</summary>
public sealed class SqliteMediaStoreContractTests : MediaStoreContractTests
{
    protected override Task<IMediaStore> CreateStoreAsync(IReadOnlyList<GenerationTypeDefinition> types) =>
        SqliteContractStore.CreateAsync(DisposeAfterFact(new TempDirectory()), types);
}

/// <summary>The parking suite against SQLite.</summary>
public sealed class SqliteJobParkingContractTests : JobParkingContractTests
{
    protected override Task<IMediaStore> CreateStoreAsync(IReadOnlyList<GenerationTypeDefinition> types) =>
        SqliteContractStore.CreateAsync(DisposeAfterFact(new TempDirectory()), types);
}

/// <summary>The webhook outbox suite against SQLite.</summary>
public sealed class SqliteWebhookOutboxContractTests : WebhookOutboxContractTests
{
    protected override Task<IMediaStore> CreateStoreAsync(IReadOnlyList<GenerationTypeDefinition> types) =>
        SqliteContractStore.CreateAsync(DisposeAfterFact(new TempDirectory()), types);
}

internal static class SqliteContractStore
{
    public static async Task<IMediaStore> CreateAsync(TempDirectory folder, IReadOnlyList<GenerationTypeDefinition> types)
    {
        var store = new SqliteMediaStore(new SqliteStoreOptions { DatabasePath = folder.File("stefna.db") });
        await store.InitializeAsync(types, CancellationToken.None);
        return store;
    }
}
