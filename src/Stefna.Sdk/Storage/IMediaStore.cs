using Stefna.Sdk.Generators;

namespace Stefna.Sdk.Storage;

/// <summary>
/// The jobs of every generation type, one dedicated table per type, and the queue workers claim from. All reads are
/// scoped to a user except the worker-side operations, which address a job through its <see cref="JobLease"/>.
/// Implementations: <c>Stefna.Sdk.Sqlite</c> (embedded default), <c>Stefna.Sdk.Postgres</c> (production, multi-host).
/// </summary>
public interface IMediaStore
{
    /// <summary>Creates or upgrades the tables of the given types. Idempotent.</summary>
    /// <param name="types">The registered types.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the tables exist.</returns>
    Task InitializeAsync(IReadOnlyList<GenerationTypeDefinition> types, CancellationToken cancellationToken);

    /// <summary>Inserts a queued job, or returns the user's existing job with the same idempotency key.</summary>
    /// <param name="job">The job.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stored job and whether it was created.</returns>
    Task<InsertResult> InsertAsync(NewGenerationJob job, CancellationToken cancellationToken);

    /// <summary>Finds a user's job by its idempotency key.</summary>
    /// <param name="type">The type.</param>
    /// <param name="userId">The user.</param>
    /// <param name="idempotencyKey">The key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The job, or <see langword="null"/>.</returns>
    Task<GenerationJob?> FindByIdempotencyKeyAsync(string type, string userId, string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>Reads one of a user's jobs; another user's job reads as <see langword="null"/>.</summary>
    /// <param name="type">The type.</param>
    /// <param name="id">The job id.</param>
    /// <param name="userId">The user.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The job, or <see langword="null"/>.</returns>
    Task<GenerationJob?> GetAsync(string type, Guid id, string userId, CancellationToken cancellationToken);

    /// <summary>Claims up to <paramref name="limit"/> of the oldest claimable jobs of a type in one store round trip:
    /// queued and not backing off, or processing with an expired lease and fewer than <paramref name="maxAttempts"/>
    /// attempts. Increments each one's attempts and sets its lease. Safe to call from many workers and hosts at once: no
    /// two calls ever get the same attempt of a job (PostgreSQL: <c>FOR UPDATE SKIP LOCKED</c>; SQLite: one write
    /// transaction).</summary>
    /// <remarks>A processing job whose lease expired after <paramref name="maxAttempts"/> or more attempts (its worker
    /// died, was killed or hung on its last allowed attempt) is not claimed again: the call fails it with
    /// <see cref="GenerationError.LeaseExpired(int)"/> (code <see cref="GenerationError.LeaseExpiredCode"/>), so a job
    /// that crashes its worker every time cannot be re-claimed forever. Such jobs do not count against
    /// <paramref name="limit"/>: the call keeps looking until it has <paramref name="limit"/> leases or nothing else is
    /// claimable. Fewer leases than <paramref name="limit"/> therefore mean the queue had no more claimable jobs.</remarks>
    /// <param name="type">The type.</param>
    /// <param name="limit">The most jobs to claim; at least 1.</param>
    /// <param name="leaseDuration">How long each lease holds before another worker may re-claim the job.</param>
    /// <param name="maxAttempts">The most claims a job gets (<c>StefnaOptions.MaxAttempts</c>); at least 1.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The leases, oldest job first; empty when nothing is claimable.</returns>
    Task<IReadOnlyList<JobLease>> ClaimAsync(string type, int limit, TimeSpan leaseDuration, int maxAttempts, CancellationToken cancellationToken);

    /// <summary>Hands over, once each, the jobs this store instance failed while claiming because their lease expired after
    /// their last allowed attempt (see <see cref="ClaimAsync(string, int, TimeSpan, int, CancellationToken)"/>), as they
    /// were failed (<see cref="GenerationJob.Attempts"/> says how many attempts ran). The worker calls it after each
    /// claim and deletes the results those attempts may have stored (<c>IAssetStorage.DeleteAttemptResultsAsync</c>): no
    /// row references them. The default, for stores that keep no such list, returns none.</summary>
    /// <returns>The jobs failed since the last call; empty when none.</returns>
    IReadOnlyList<GenerationJob> TakeExhaustedJobs() => [];

    /// <summary>Claims as <see cref="ClaimAsync(string, int, TimeSpan, int, CancellationToken)"/> does, but never so many
    /// that more than <paramref name="maxOutstanding"/> jobs of the type are <see cref="GenerationStatus.Processing"/>
    /// (running on any host, or parked at the provider) afterwards: the per-type limit of jobs outstanding at the provider.
    /// Stores make the count and the claim one atomic step across hosts (PostgreSQL: a per-type advisory lock around the
    /// claim; SQLite: one write transaction).</summary>
    /// <remarks>The default implementation, for stores written before this member existed, only caps each claim at
    /// <paramref name="maxOutstanding"/>; the shipped stores override it, and the conformance kit checks the limit.</remarks>
    /// <param name="type">The type.</param>
    /// <param name="limit">The most jobs to claim; at least 1.</param>
    /// <param name="leaseDuration">How long each lease holds.</param>
    /// <param name="maxAttempts">The most claims a job gets; at least 1.</param>
    /// <param name="maxOutstanding">The most processing jobs of the type there may be; at least 1.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The leases, oldest job first; empty when nothing is claimable or the limit is reached.</returns>
    Task<IReadOnlyList<JobLease>> ClaimAsync(string type, int limit, TimeSpan leaseDuration, int maxAttempts, int maxOutstanding, CancellationToken cancellationToken) =>
        ClaimAsync(type, Math.Min(limit, maxOutstanding), leaseDuration, maxAttempts, cancellationToken);

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

    /// <summary>Whether the store can park jobs (<see cref="ParkAsync"/>, <see cref="ClaimParkedAsync"/>). The default,
    /// for stores written before parking existed, is <see langword="false"/>: the engine then waits for a pending
    /// provider job inside the attempt, holding its in-flight place and its lease.</summary>
    bool SupportsParking => false;

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
    Task<bool> ParkAsync(JobLease lease, string providerJobId, DateTimeOffset nextCheckAt, DateTimeOffset deadline, CancellationToken cancellationToken) =>
        throw new NotSupportedException("This store does not park jobs (SupportsParking is false).");

    /// <summary>Takes up to <paramref name="limit"/> parked jobs of a type whose next check has come, earliest first, in
    /// one store round trip, and leases each one for <paramref name="leaseDuration"/> without spending an attempt (the
    /// lease's attempt is the one that parked it). Safe to call from many hosts at once: no two calls get the same
    /// parked job. Also tells when the earliest parked job left behind is due, so a poller sleeps exactly until then.</summary>
    /// <remarks>The default implementation, for stores that do not park (<see cref="SupportsParking"/> false), takes nothing.</remarks>
    /// <param name="type">The type.</param>
    /// <param name="limit">The most jobs to take; at least 1.</param>
    /// <param name="leaseDuration">How long each lease holds.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The leases and the next check time of the parked jobs left.</returns>
    Task<ParkedClaim> ClaimParkedAsync(string type, int limit, TimeSpan leaseDuration, CancellationToken cancellationToken) =>
        Task.FromResult(ParkedClaim.None);

    /// <summary>Completes a job.</summary>
    /// <param name="lease">The lease.</param>
    /// <param name="result">The stored image.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="false"/> when the lease was lost; the caller must then discard its result.</returns>
    Task<bool> CompleteAsync(JobLease lease, JobResult result, CancellationToken cancellationToken);

    /// <summary>Completes several jobs of one type in one store round trip, each guarded by its own lease exactly as
    /// <see cref="CompleteAsync"/> is (the engine's batch completer: jobs that finish together are written together).</summary>
    /// <remarks>The default implementation, for stores written before this member existed, completes the jobs one by one.</remarks>
    /// <param name="type">The type of every job.</param>
    /// <param name="completions">The jobs and their results; one entry per job.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The leases that were lost (those jobs were not completed; their holders must discard their results).
    /// Empty when every job was completed.</returns>
    async Task<IReadOnlyList<JobLease>> CompleteManyAsync(string type, IReadOnlyList<JobCompletion> completions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(completions);
        var lost = new List<JobLease>();
        foreach (var completion in completions)
        {
            if (!await CompleteAsync(completion.Lease, completion.Result, cancellationToken).ConfigureAwait(false))
            {
                lost.Add(completion.Lease);
            }
        }

        return lost;
    }

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
    /// <remarks>Guarded like every lease write: only the current holder may release, and a lease that was lost (expired
    /// and re-claimed, canceled, finished) changes nothing. The next claim reuses the released attempt number, so the
    /// lease must not be used for any write after a successful release. The default implementation, for stores written
    /// before this member existed, requeues through <see cref="RequeueAsync"/> with error code <c>canceled.shutdown</c>,
    /// which spends the attempt; stores should override it (the conformance kit checks that they do).</remarks>
    /// <param name="lease">The lease.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="false"/> when the lease was lost.</returns>
    Task<bool> ReleaseAsync(JobLease lease, CancellationToken cancellationToken) =>
        RequeueAsync(lease, new GenerationError(GenerationErrorCategory.Canceled, "canceled.shutdown", "The worker stopped while running this job."), DateTimeOffset.UtcNow, cancellationToken);

    /// <summary>Fails a job for good.</summary>
    /// <param name="lease">The lease.</param>
    /// <param name="error">The failure.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="false"/> when the lease was lost.</returns>
    Task<bool> FailAsync(JobLease lease, GenerationError error, CancellationToken cancellationToken);

    /// <summary>Cancels a user's job that has not finished.</summary>
    /// <param name="type">The type.</param>
    /// <param name="id">The job id.</param>
    /// <param name="userId">The user.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The job after the call, or <see langword="null"/> when the user has no such job.</returns>
    Task<GenerationJob?> CancelAsync(string type, Guid id, string userId, CancellationToken cancellationToken);

    /// <summary>Reads a page of a user's feed across types, newest first, with keyset paging.</summary>
    /// <param name="query">The query; <see cref="FeedQuery.Types"/> is already resolved to registered types.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The page.</returns>
    Task<FeedPage> QueryFeedAsync(FeedQuery query, CancellationToken cancellationToken);

    /// <summary>Counts a type's unfinished jobs (queued or processing), for workers that exit when idle.</summary>
    /// <param name="type">The type.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The count.</returns>
    Task<long> CountUnfinishedAsync(string type, CancellationToken cancellationToken);

    /// <summary>A type's waiting jobs, for health checks: how many are queued and when the oldest was created. Also
    /// proves the store answers and the type's table is there. The default counts unfinished jobs and cannot tell the
    /// oldest; the shipped stores answer both in one query.</summary>
    /// <param name="type">The type.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The snapshot.</returns>
    async Task<QueueSnapshot> GetQueueSnapshotAsync(string type, CancellationToken cancellationToken) =>
        new(await CountUnfinishedAsync(type, cancellationToken).ConfigureAwait(false), null);
}

/// <summary>What <see cref="IMediaStore.ClaimParkedAsync"/> took, and when the parked jobs it left are next due.</summary>
/// <param name="Leases">The parked jobs taken, now leased (status processing, same attempt).</param>
/// <param name="NextCheckAt">The earliest next check among the type's parked jobs left behind (on the caller's clock),
/// or <see langword="null"/> when none is parked.</param>
public sealed record ParkedClaim(IReadOnlyList<JobLease> Leases, DateTimeOffset? NextCheckAt)
{
    /// <summary>Nothing taken and nothing parked.</summary>
    public static ParkedClaim None { get; } = new([], null);
}

/// <summary>A type's waiting jobs at one moment.</summary>
/// <param name="Queued">How many jobs are queued (waiting for a worker, or for a retry's back-off).</param>
/// <param name="OldestQueuedAt">When the oldest queued job was created; <see langword="null"/> when none is queued or the
/// store cannot tell.</param>
public sealed record QueueSnapshot(long Queued, DateTimeOffset? OldestQueuedAt);

/// <summary>Optional: a store that can tell workers in any process that new work has arrived (PostgreSQL LISTEN/NOTIFY).</summary>
public interface IJobNotificationSource
{
    /// <summary>Waits until work for any of the given types may be available, or the timeout elapses.</summary>
    /// <param name="types">The types the caller works on.</param>
    /// <param name="timeout">The longest wait.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns><see langword="true"/> when a notification (or a reconnect, after which notifications may have been
    /// missed) woke the wait; <see langword="false"/> at the timeout. One notification wakes one wait per type.</returns>
    Task<bool> WaitForWorkAsync(IReadOnlyCollection<string> types, TimeSpan timeout, CancellationToken cancellationToken);
}
