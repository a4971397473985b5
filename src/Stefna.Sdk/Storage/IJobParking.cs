namespace Stefna.Sdk.Storage;

/// <summary>Optional role of a store: parking jobs an asynchronous provider accepted, so they hold no lease, no attempt
/// and no in-flight place while the provider works. A store that does not implement it still runs asynchronous
/// providers: the engine then waits for a pending provider job inside the attempt, holding its in-flight place and its
/// lease. A decorator around a store that parks must implement this role too (and forward it), or parking is off.</summary>
public interface IJobParking
{
    /// <summary>Parks a job an asynchronous provider accepted: records the provider's job id, when to check it next and
    /// until when to wait for it, and gives up the lease. The row stays <see cref="GenerationStatus.Processing"/> with
    /// no lease, so no claim takes it; <see cref="ClaimParkedAsync"/> hands it to any host's poller once
    /// <paramref name="nextCheckAt"/> has come. The attempt is not spent: checking a parked job is not a new attempt.
    /// Lease-guarded like every worker write; the lease must not be used for any write after a successful park.</summary>
    /// <param name="lease">The lease.</param>
    /// <param name="providerJobId">The provider's job id (kept, so a resumed job polls instead of submitting again).</param>
    /// <param name="nextCheckAt">When to check the provider job next.</param>
    /// <param name="deadline">When to stop waiting for the provider job (read back as <see cref="GenerationJob.ProviderDeadline"/>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="false"/> when the lease was lost.</returns>
    Task<bool> ParkAsync(JobLease lease, string providerJobId, DateTimeOffset nextCheckAt, DateTimeOffset deadline, CancellationToken cancellationToken);

    /// <summary>Takes up to <paramref name="limit"/> parked jobs of a type whose next check has come, earliest first, in
    /// one store round trip, and leases each one for <paramref name="leaseDuration"/> without spending an attempt (the
    /// lease's attempt is the one that parked it). Safe to call from many hosts at once: no two calls get the same
    /// parked job. Also tells when the earliest parked job left behind is due, so a poller sleeps exactly until then.</summary>
    /// <param name="type">The type.</param>
    /// <param name="limit">The most jobs to take; at least 1.</param>
    /// <param name="leaseDuration">How long each lease holds.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The leases and the next check time of the parked jobs left.</returns>
    Task<ParkedClaim> ClaimParkedAsync(string type, int limit, TimeSpan leaseDuration, CancellationToken cancellationToken);
}

/// <summary>What <see cref="IJobParking.ClaimParkedAsync"/> took, and when the parked jobs it left are next due.</summary>
/// <param name="Leases">The parked jobs taken, now leased (status processing, same attempt).</param>
/// <param name="NextCheckAt">The earliest next check among the type's parked jobs left behind (on the caller's clock),
/// or <see langword="null"/> when none is parked.</param>
public sealed record ParkedClaim(IReadOnlyList<JobLease> Leases, DateTimeOffset? NextCheckAt)
{
    /// <summary>Nothing taken and nothing parked.</summary>
    public static ParkedClaim None { get; } = new([], null);
}
