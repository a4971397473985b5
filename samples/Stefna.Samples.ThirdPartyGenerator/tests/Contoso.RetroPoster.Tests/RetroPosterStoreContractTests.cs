using Stefna.Sdk.Generators;
using Stefna.Sdk.Storage;
using Stefna.Sdk.Testing;

namespace Contoso.RetroPoster.Tests;

/// <summary>The SDK's store conformance kit for the minimal roles (<see cref="MediaStoreContractTests"/>: records and
/// feed, queue, schema; from the packed Stefna.Sdk.Testing), run against Retro Poster's own store. The store implements
/// no optional role, so it derives no role suite (<c>JobParkingContractTests</c>, <c>WebhookOutboxContractTests</c>).</summary>
public sealed class RetroPosterStoreContractTests : MediaStoreContractTests
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "retro-poster-store-kit", Guid.NewGuid().ToString("N"));
    private int _stores;

    /// <inheritdoc />
    protected override async Task<IMediaStore> CreateStoreAsync(IReadOnlyList<GenerationTypeDefinition> types)
    {
        // Each store its own empty directory, as the kit asks.
        var store = new RetroPosterStore(Path.Combine(_folder, (++_stores).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await store.InitializeAsync(types, CancellationToken.None);
        return store;
    }

    /// <inheritdoc />
    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }
}
