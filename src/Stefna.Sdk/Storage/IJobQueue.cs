namespace Stefna.Sdk.Storage;

/// <summary>The queue role of a store, the one the job engine drives: claims, leases and the worker-side writes. Every
/// write addresses a job through its <see cref="JobLease"/> and is guarded by it: a lease that was lost (expired and
/// re-claimed, canceled, finished) changes nothing and the call says so. The role has no default implementations: a store
/// implements each member to its contract, and a decorator forwards each one (the conformance kit checks them).</summary>
public interface IJobQueue
{
    /// <summary>Claims up to <paramref name="limit"/> of the oldest claimable jobs of a type in one store round trip:
    /// queued and not backing off, or processing with an expired lease and fewer than <paramref name="maxAttempts"/>
    /// attempts. Increments each one's attempts and sets its lease. Safe to call from many workers and hosts at once: no
    /// two calls ever get the same attempt of a job (PostgreSQL: <c>FOR UPDATE SKIP LOCKED</c>; SQLite: one write
    /// transaction). With <paramref name="maxOutstanding"/>, never claims so many that more than that many jobs of the
    /// type are <see cref="GenerationStatus.Processing"/> (running on any host, or parked at the provider) afterwards,
    /// the count and the claim being one atomic step across hosts (PostgreSQL: a per-type advisory lock around the claim;
    /// SQLite: one write transaction).</summary>
    /// <remarks>A processing job whose lease expired after <paramref name="maxAttempts"/> or more attempts (its worker
    /// died, was killed or hung on its last allowed attempt) is not claimed again: the call fails it with
    /// <see cref="GenerationError.LeaseExpired(int)"/> (code <see cref="GenerationError.LeaseExpiredCode"/>) and keeps it
    /// for <see cref="TakeExhaustedJobs"/>, so a job that crashes its worker every time cannot be re-claimed forever. Such
    /// jobs do not count against <paramref name="limit"/>: the call keeps looking until it has <paramref name="limit"/>
    /// leases or nothing else is claimable. Fewer leases than <paramref name="limit"/> therefore mean the queue had no
    /// more claimable jobs (or the outstanding limit was reached).</remarks>
    /// <param name="type">The type.</param>
    /// <param name="limit">The most jobs to claim; at least 1.</param>
    /// <param name="leaseDuration">How long each lease holds before another worker may re-claim the job.</param>
    /// <param name="maxAttempts">The most claims a job gets (<c>StefnaOptions.MaxAttempts</c>); at least 1.</param>
    /// <param name="maxOutstanding">The most processing jobs of the type there may be after the claim (at least 1), or
    /// <see langword="null"/> for no such limit.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The leases, oldest job first; empty when nothing is claimable or the limit is reached.</returns>
    Task<IReadOnlyList<JobLease>> ClaimAsync(string type, int limit, TimeSpan leaseDuration, int maxAttempts, int? maxOutstanding, CancellationToken cancellationToken);

    /// <summary>Hands over, once each, the jobs this store instance failed while claiming because their lease expired after
    /// their last allowed attempt (see <see cref="ClaimAsync"/>), as they were failed (<see cref="GenerationJob.Attempts"/>
    /// says how many attempts ran). The worker calls it after each claim and deletes the results those attempts may have
    /// stored (<c>IAssetStorage.DeleteAttemptResultsAsync</c>): no row references them.</summary>
    /// <returns>The jobs failed since the last call; empty when none.</returns>
    IReadOnlyList<GenerationJob> TakeExhaustedJobs();

    /// <summary>Extends the leases a worker holds on jobs of one type, in one store round trip (the heartbeat of every
    /// job the host runs of that type).</summary>
    /// <param name="type">The type of every lease.</param>
    /// <param name="leases">The leases to extend.</param>
    /// <param name="leaseDuration">The new duration from now.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The leases that were lost (re-claimed by another attempt, canceled, finished); their holders must stop.
    /// Empty when every lease was extended.</returns>
    Task<IReadOnlyList<JobLease>> RenewLeasesAsync(string type, IReadOnlyCollection<JobLease> leases, TimeSpan leaseDuration, CancellationToken cancellationToken);

    /// <summary>Records the provider's job id so a re-claimed job resumes polling instead of submitting again.</summary>
    /// <param name="lease">The lease.</param>
    /// <param name="providerJobId">The provider's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="false"/> when the lease was lost.</returns>
    Task<bool> SetProviderJobIdAsync(JobLease lease, string providerJobId, CancellationToken cancellationToken);

    /// <summary>Completes a job.</summary>
    /// <param name="lease">The lease.</param>
    /// <param name="result">The stored image.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="false"/> when the lease was lost; the caller must then discard its result.</returns>
    Task<bool> CompleteAsync(JobLease lease, JobResult result, CancellationToken cancellationToken);

    /// <summary>Completes several jobs of one type, each guarded by its own lease exactly as <see cref="CompleteAsync"/>
    /// is (the engine's batch completer: jobs that finish together are written together, in one store round trip where
    /// the store can).</summary>
    /// <param name="type">The type of every job.</param>
    /// <param name="completions">The jobs and their results; one entry per job.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The leases that were lost (those jobs were not completed; their holders must discard their results).
    /// Empty when every job was completed.</returns>
    Task<IReadOnlyList<JobLease>> CompleteManyAsync(string type, IReadOnlyList<JobCompletion> completions, CancellationToken cancellationToken);

    /// <summary>Puts a job back in the queue after a transient failure, not claimable before <paramref name="notBefore"/>.</summary>
    /// <param name="lease">The lease.</param>
    /// <param name="error">The failure, kept as the job's last error.</param>
    /// <param name="notBefore">When the job may be claimed again.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="false"/> when the lease was lost.</returns>
    Task<bool> RequeueAsync(JobLease lease, GenerationError error, DateTimeOffset notBefore, CancellationToken cancellationToken);

    /// <summary>Hands a claimed job back to the queue without spending an attempt, for a worker that stops before the job
    /// finished (host shutdown): the job becomes <see cref="GenerationStatus.Queued"/> again, claimable at once, with
    /// <see cref="GenerationJob.Attempts"/> back to its value before the claim, so rolling restarts cannot exhaust
    /// <c>StefnaOptions.MaxAttempts</c> of a job that never failed. Its last error, provider job id and metadata stay.</summary>
    /// <remarks>Guarded like every lease write: only the current holder may release, and a lease that was lost changes
    /// nothing. The next claim reuses the released attempt number, so the lease must not be used for any write after a
    /// successful release.</remarks>
    /// <param name="lease">The lease.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="false"/> when the lease was lost.</returns>
    Task<bool> ReleaseAsync(JobLease lease, CancellationToken cancellationToken);

    /// <summary>Fails a job for good.</summary>
    /// <param name="lease">The lease.</param>
    /// <param name="error">The failure.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="false"/> when the lease was lost.</returns>
    Task<bool> FailAsync(JobLease lease, GenerationError error, CancellationToken cancellationToken);

    /// <summary>Counts a type's unfinished jobs (queued or processing), for workers that exit when idle.</summary>
    /// <param name="type">The type.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The count.</returns>
    Task<long> CountUnfinishedAsync(string type, CancellationToken cancellationToken);

    /// <summary>A type's waiting jobs, for health checks: how many are queued and when the oldest was created, in one
    /// store round trip. Also proves the store answers and the type's table is there.</summary>
    /// <param name="type">The type.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The snapshot.</returns>
    Task<QueueSnapshot> GetQueueSnapshotAsync(string type, CancellationToken cancellationToken);
}

/// <summary>Conveniences over <see cref="IJobQueue"/>.</summary>
public static class JobQueueExtensions
{
    /// <summary>Claims as <see cref="IJobQueue.ClaimAsync"/> does, with no limit on the type's outstanding jobs.</summary>
    /// <param name="queue">The queue.</param>
    /// <param name="type">The type.</param>
    /// <param name="limit">The most jobs to claim; at least 1.</param>
    /// <param name="leaseDuration">How long each lease holds.</param>
    /// <param name="maxAttempts">The most claims a job gets; at least 1.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The leases, oldest job first; empty when nothing is claimable.</returns>
    public static Task<IReadOnlyList<JobLease>> ClaimAsync(this IJobQueue queue, string type, int limit, TimeSpan leaseDuration, int maxAttempts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(queue);
        return queue.ClaimAsync(type, limit, leaseDuration, maxAttempts, null, cancellationToken);
    }
}

/// <summary>A type's waiting jobs at one moment.</summary>
/// <param name="Queued">How many jobs are queued (waiting for a worker, or for a retry's back-off).</param>
/// <param name="OldestQueuedAt">When the oldest queued job was created; <see langword="null"/> when none is queued.</param>
public sealed record QueueSnapshot(long Queued, DateTimeOffset? OldestQueuedAt);
