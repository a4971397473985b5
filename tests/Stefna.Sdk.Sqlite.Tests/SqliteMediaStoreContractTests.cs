using Stefna.Sdk.Generators;
using Stefna.Sdk.Storage;
using Stefna.Sdk.Testing;
using Stefna.TestUtils;

namespace Stefna.Sdk.Sqlite.Tests;

/// <summary>Runs the store contract suite against SQLite: a fresh database file in its own temp folder per store.</summary>
public sealed class SqliteMediaStoreContractTests : MediaStoreContractTests
{
    private readonly List<TempDirectory> _folders = [];

    protected override async Task<IMediaStore> CreateStoreAsync(IReadOnlyList<GenerationTypeDefinition> types)
    {
        var folder = new TempDirectory();
        _folders.Add(folder);
        var store = new SqliteMediaStore(new SqliteStoreOptions { DatabasePath = folder.File("stefna.db") });
        await store.InitializeAsync(types, CancellationToken.None);
        return store;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        foreach (var folder in _folders)
        {
            folder.Dispose();
        }
    }
}
