using Stefna.Sdk.Generators;

namespace Stefna.Sdk.Storage;

/// <summary>The schema role of a store: creates or upgrades the tables of the types the store holds. The host calls it
/// once at start-up, before any other store call, with exactly the types routed to this store.</summary>
public interface IMediaStoreSchema
{
    /// <summary>Creates or upgrades the tables of the given types. Idempotent.</summary>
    /// <param name="types">The types this store holds.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the tables exist.</returns>
    Task InitializeAsync(IReadOnlyList<GenerationTypeDefinition> types, CancellationToken cancellationToken);
}
