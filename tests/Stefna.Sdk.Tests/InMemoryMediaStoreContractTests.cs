using Stefna.Sdk.Generators;
using Stefna.Sdk.Storage;
using Stefna.Sdk.Testing;
using Stefna.TestUtils;

namespace Stefna.Sdk.Tests;

/// <summary>Runs the store contract suite against the in-memory store the pipeline tests use, so the kit pins every
/// store the repository has (SQLite, PostgreSQL, in memory) to the same behaviour.</summary>
public sealed class InMemoryMediaStoreContractTests : MediaStoreContractTests
{
    protected override async Task<IMediaStore> CreateStoreAsync(IReadOnlyList<GenerationTypeDefinition> types)
    {
        var store = new InMemoryMediaStore();
        await store.InitializeAsync(types, CancellationToken.None);
        return store;
    }
}
