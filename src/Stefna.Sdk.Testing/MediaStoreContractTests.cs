using Stefna.Sdk.Storage;
using Xunit;

namespace Stefna.Sdk.Testing;

/// <summary>
/// The behaviour every store must show, as xunit facts: the minimal set of roles a store implements
/// (<see cref="IMediaStore"/> = <see cref="IJobRecordStore"/> + <see cref="IJobQueue"/> + <see cref="IMediaStoreSchema"/>).
/// A store author derives a test class from this one, implements <see cref="StoreContractBase.CreateStoreAsync"/>, and
/// xunit runs every fact below against that store:
/// <code>
/// public sealed class MyStoreContractTests : MediaStoreContractTests
/// {
///     protected override async Task&lt;IMediaStore&gt; CreateStoreAsync(IReadOnlyList&lt;GenerationTypeDefinition&gt; types)
///     {
///         var store = new MyStore(/* a fresh, empty database */);
///         await store.InitializeAsync(types, CancellationToken.None);
///         return store;
///     }
/// }
/// </code>
/// A store that also implements an optional role derives that role's suite the same way:
/// <see cref="JobParkingContractTests"/> for <see cref="IJobParking"/>, <see cref="WebhookOutboxContractTests"/> for
/// <see cref="Webhooks.IWebhookOutbox"/>.
/// </summary>
/// <remarks>
/// <para>The suite covers: a lossless round trip of every field (including Unicode and SQL metacharacters), reads
/// scoped to their user, idempotency keys, the queue (oldest first, atomic under concurrent claimers, lease expiry,
/// lease-guarded writes, requeue back-off, fail, cancel, a limit of jobs outstanding at the provider), the keyset-paged
/// feed across types with its tag, status and type filters, <see cref="IJobQueue.CountUnfinishedAsync"/>, and input
/// every store answers the same way (page sizes, unknown columns, text no store can keep). The requirements on the
/// store and its disposal are <see cref="StoreContractBase"/>'s.</para>
/// </remarks>
public abstract partial class MediaStoreContractTests : StoreContractBase
{
    // The single-job facts go through the batch calls with a batch of one.
    private async Task<JobLease?> ClaimOneAsync(IMediaStore store, string type, TimeSpan leaseDuration, int maxAttempts) =>
        (await store.ClaimAsync(type, 1, leaseDuration, maxAttempts, Ct)).SingleOrDefault();

    private async Task<bool> RenewOneAsync(IMediaStore store, JobLease lease, TimeSpan leaseDuration)
    {
        var lost = await store.RenewLeasesAsync(lease.Type, [lease], leaseDuration, Ct);
        Assert.True(lost.Count <= 1, "A renewal of one lease reported more than one lost.");
        Assert.All(lost, l => Assert.Same(lease, l));
        return lost.Count == 0;
    }
}
