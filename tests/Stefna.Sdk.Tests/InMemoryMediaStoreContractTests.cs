using Stefna.Sdk.Generators;
using Stefna.Sdk.Storage;
using Stefna.Sdk.Testing;
using Stefna.TestUtils;
using Xunit.Sdk;

namespace Stefna.Sdk.Tests;

/// <summary>Runs the store contract suite against the in-memory store the pipeline tests use, so the kit pins every
/// store the repository has (SQLite, PostgreSQL, in memory) to the same behaviour. The in-memory store implements the
/// minimal roles only (no parking, no webhook outbox), so the minimal suite is the one it runs.</summary>
public sealed class InMemoryMediaStoreContractTests : MediaStoreContractTests
{
    protected override Task<IMediaStore> CreateStoreAsync(IReadOnlyList<GenerationTypeDefinition> types) => CreateInMemoryStoreAsync(types);

    internal static async Task<IMediaStore> CreateInMemoryStoreAsync(IReadOnlyList<GenerationTypeDefinition> types)
    {
        var store = new InMemoryMediaStore();
        await store.InitializeAsync(types, CancellationToken.None);
        return store;
    }
}

/// <summary>A role's suite run against a store without the role fails each fact, naming the role, instead of passing it
/// unchecked (as the parking and outbox facts of the one suite did for such a store).</summary>
public sealed class RoleSuiteWithoutTheRoleTests
{
    [Fact]
    public Task The_parking_suite_fails_for_a_store_that_does_not_park() =>
        ExpectRoleMissingAsync(new ParkingSuite(), s => s.Cancel_reaches_a_parked_job(), nameof(IJobParking));

    [Fact]
    public Task The_outbox_suite_fails_for_a_store_without_an_outbox() =>
        ExpectRoleMissingAsync(new OutboxSuite(), s => s.Webhook_outbox_claims_are_leased_and_guarded_by_their_attempt(), "IWebhookOutbox");

    private static async Task ExpectRoleMissingAsync<TSuite>(TSuite suite, Func<TSuite, Task> fact, string role)
        where TSuite : StoreContractBase
    {
        await suite.InitializeAsync();
        try
        {
            var failure = await Assert.ThrowsAnyAsync<XunitException>(() => fact(suite));
            Assert.Contains($"does not implement {role}", failure.Message, StringComparison.Ordinal);
        }
        finally
        {
            await suite.DisposeAsync();
        }
    }

    // Private, so xunit does not discover them as test classes of their own.
    private sealed class ParkingSuite : JobParkingContractTests
    {
        protected override Task<IMediaStore> CreateStoreAsync(IReadOnlyList<GenerationTypeDefinition> types) =>
            InMemoryMediaStoreContractTests.CreateInMemoryStoreAsync(types);
    }

    private sealed class OutboxSuite : WebhookOutboxContractTests
    {
        protected override Task<IMediaStore> CreateStoreAsync(IReadOnlyList<GenerationTypeDefinition> types) =>
            InMemoryMediaStoreContractTests.CreateInMemoryStoreAsync(types);
    }
}
