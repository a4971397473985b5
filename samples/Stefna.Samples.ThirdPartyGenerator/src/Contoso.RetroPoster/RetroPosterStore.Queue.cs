using Stefna.Sdk;
using Stefna.Sdk.Storage;

namespace Contoso.RetroPoster;

// The queue the engine drives: claims, leases and the lease-guarded writes of a worker. A lease holds while its job is
// processing at the lease's attempt; every claim makes a new attempt, so a lease that was lost can never write again.
public sealed partial class RetroPosterStore
{
    /// <inheritdoc />
    /// <remarks>Takes the oldest claimable jobs: queued and past their back-off, or processing with an expired lease. A
    /// processing job whose lease expired on its last allowed attempt is failed instead (and kept for
    /// <see cref="TakeExhaustedJobs"/>); it does not count against the limit. With <paramref name="maxOutstanding"/>, the
    /// type's processing jobs never exceed it. One step under the store's lock, so concurrent claimers never share a job.</remarks>
    public Task<IReadOnlyList<JobLease>> ClaimAsync(string type, int limit, TimeSpan leaseDuration, int maxAttempts, int? maxOutstanding, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        if (maxOutstanding is { } most)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(most, 1, nameof(maxOutstanding));
        }

        return Locked(cancellationToken, () =>
        {
            var table = TableOf(type);
            var now = _time.GetUtcNow();
            var outstanding = table.Jobs.Values.Count(j => j.Status == GenerationStatus.Processing);
            var candidates = table.Jobs.Values
                .Where(j => (j.Status == GenerationStatus.Queued && (j.LeaseUntil is null || j.LeaseUntil <= now))
                    || (j.Status == GenerationStatus.Processing && j.LeaseUntil < now))
                .OrderBy(j => j.CreatedAt.UtcTicks)
                .ThenBy(j => j.Id.ToString("D"), StringComparer.Ordinal)
                .ToList();
            var leases = new List<JobLease>();
            foreach (var job in candidates)
            {
                if (leases.Count == limit)
                {
                    break;
                }

                var expired = job.Status == GenerationStatus.Processing;
                if (expired && job.Attempts >= maxAttempts)
                {
                    var failed = job with { Status = GenerationStatus.Failed, LeaseUntil = null, Error = GenerationError.LeaseExpired(maxAttempts), UpdatedAt = now };
                    table.Save(failed);
                    outstanding--;
                    if (_exhausted.Count < MaxExhaustedKept)
                    {
                        _exhausted.Enqueue(failed);
                    }

                    continue;
                }

                // A re-claimed job was already counted as processing.
                if (!expired && outstanding >= maxOutstanding)
                {
                    continue;
                }

                var claimed = job with { Status = GenerationStatus.Processing, Attempts = job.Attempts + 1, LeaseUntil = now + leaseDuration, UpdatedAt = now };
                table.Save(claimed);
                outstanding += expired ? 0 : 1;
                leases.Add(new JobLease(claimed));
            }

            return (IReadOnlyList<JobLease>)leases;
        });
    }

    /// <inheritdoc />
    public IReadOnlyList<GenerationJob> TakeExhaustedJobs()
    {
        lock (_gate)
        {
            var taken = _exhausted.ToList();
            _exhausted.Clear();
            return taken;
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<JobLease>> RenewLeasesAsync(string type, IReadOnlyCollection<JobLease> leases, TimeSpan leaseDuration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(leases);
        return Locked(cancellationToken, () =>
        {
            var table = TableOf(type);
            var until = _time.GetUtcNow() + leaseDuration;
            var lost = new List<JobLease>();
            foreach (var lease in leases)
            {
                if (!Guarded(table, lease, job => job with { LeaseUntil = until }))
                {
                    lost.Add(lease);
                }
            }

            return (IReadOnlyList<JobLease>)lost;
        });
    }

    /// <inheritdoc />
    public Task<bool> SetProviderJobIdAsync(JobLease lease, string providerJobId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(providerJobId);
        return GuardedAsync(lease, cancellationToken, job => job with { ProviderJobId = providerJobId });
    }

    /// <inheritdoc />
    public Task<bool> CompleteAsync(JobLease lease, JobResult result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(result);
        return GuardedAsync(lease, cancellationToken, job => Completed(job, result));
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<JobLease>> CompleteManyAsync(string type, IReadOnlyList<JobCompletion> completions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(completions);
        return Locked(cancellationToken, () =>
        {
            var table = TableOf(type);
            var lost = new List<JobLease>();
            foreach (var (lease, result) in completions)
            {
                ArgumentNullException.ThrowIfNull(result);
                if (!Guarded(table, lease, job => Completed(job, result)))
                {
                    lost.Add(lease);
                }
            }

            return (IReadOnlyList<JobLease>)lost;
        });
    }

    /// <inheritdoc />
    public Task<bool> RequeueAsync(JobLease lease, GenerationError error, DateTimeOffset notBefore, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(error);
        return GuardedAsync(lease, cancellationToken, job => job with { Status = GenerationStatus.Queued, LeaseUntil = notBefore, Error = error });
    }

    /// <inheritdoc />
    public Task<bool> ReleaseAsync(JobLease lease, CancellationToken cancellationToken) =>
        GuardedAsync(lease, cancellationToken, job => job with { Status = GenerationStatus.Queued, Attempts = Math.Max(job.Attempts - 1, 0), LeaseUntil = null });

    /// <inheritdoc />
    public Task<bool> FailAsync(JobLease lease, GenerationError error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(error);
        return GuardedAsync(lease, cancellationToken, job => job with { Status = GenerationStatus.Failed, LeaseUntil = null, Error = error });
    }

    /// <inheritdoc />
    public Task<long> CountUnfinishedAsync(string type, CancellationToken cancellationToken) =>
        Locked(cancellationToken, () => (long)TableOf(type).Jobs.Values.Count(j => j.Status is GenerationStatus.Queued or GenerationStatus.Processing));

    /// <inheritdoc />
    public Task<QueueSnapshot> GetQueueSnapshotAsync(string type, CancellationToken cancellationToken) =>
        Locked(cancellationToken, () =>
        {
            var queued = TableOf(type).Jobs.Values.Where(j => j.Status == GenerationStatus.Queued).ToList();
            return new QueueSnapshot(queued.Count, queued.Count == 0 ? null : queued.Min(j => j.CreatedAt));
        });

    private static GenerationJob Completed(GenerationJob job, JobResult result)
    {
        // The result's metadata is merged into the job's; a completed job carries no error from an earlier attempt.
        var meta = new Dictionary<string, string>(job.Meta, StringComparer.Ordinal);
        foreach (var (key, value) in result.Meta)
        {
            meta[key] = value;
        }

        return job with { Status = GenerationStatus.Completed, ImageUrl = result.ImageUrl, Meta = meta, LeaseUntil = null, Error = null };
    }

    private Task<bool> GuardedAsync(JobLease lease, CancellationToken cancellationToken, Func<GenerationJob, GenerationJob> change)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return Locked(cancellationToken, () => Guarded(TableOf(lease.Type), lease, change));
    }

    // Applies a worker's write only while the lease holds: its job is processing at the lease's attempt.
    private bool Guarded(Table table, JobLease lease, Func<GenerationJob, GenerationJob> change)
    {
        ArgumentNullException.ThrowIfNull(lease);
        if (table.Jobs.GetValueOrDefault(lease.Id) is not { Status: GenerationStatus.Processing } job || job.Attempts != lease.Attempt)
        {
            return false;
        }

        table.Save(change(job) with { UpdatedAt = _time.GetUtcNow() });
        return true;
    }
}
