using System.Collections.Concurrent;

namespace Stefna.Sdk.Relational;

/// <summary>The queue flow both stores share around their own claim statements: the claim rounds (a claim that fails
/// jobs whose attempts ran out claims again for the places they took), the hand-over queue of those jobs
/// (<c>TakeExhaustedJobs</c>), the order leases are handed out in, and which leases of a lease-guarded batch were lost.</summary>
internal sealed class JobQueueFlow(Action<GenerationJob, int> logExhausted)
{
    // Jobs a claim failed for good, until the worker takes them; capped for callers that never take.
    private const int MaxExhaustedKept = 10_000;
    private readonly ConcurrentQueue<GenerationJob> _exhausted = new();

    /// <summary>The arguments every claim checks: at least one job, one attempt, and (when limited) one outstanding.</summary>
    public static void CheckClaim(int limit, int maxAttempts, int? maxOutstanding)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        if (maxOutstanding is { } outstanding)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(outstanding, 1, nameof(maxOutstanding));
        }
    }

    /// <summary>Claims up to <paramref name="limit"/> jobs with <paramref name="claim"/>, which runs the database's
    /// claim statement for the number of jobs it is given and returns the rows it changed: claimed (processing) or
    /// failed because the job's lease expired after its last allowed attempt. The failed ones are logged and kept for
    /// <see cref="TakeExhaustedJobs"/>; the claim is repeated only for the places they took, and only while the queue
    /// filled the request. The leases come oldest first (RETURNING has no guaranteed order). The store has checked the
    /// arguments (<see cref="CheckClaim"/>) before building its statement.</summary>
    public async Task<IReadOnlyList<JobLease>> ClaimAsync(int limit, int maxAttempts, Func<int, Task<IReadOnlyList<GenerationJob>>> claim)
    {
        List<JobLease>? leases = null;
        while (true)
        {
            var wanted = limit - (leases?.Count ?? 0);
            var rows = await claim(wanted).ConfigureAwait(false);
            var failed = 0;
            foreach (var job in rows)
            {
                if (job.Status == GenerationStatus.Processing)
                {
                    (leases ??= new List<JobLease>(wanted)).Add(new JobLease(job));
                }
                else
                {
                    failed++;
                    logExhausted(job, maxAttempts);
                    if (_exhausted.Count < MaxExhaustedKept)
                    {
                        _exhausted.Enqueue(job);
                    }
                }
            }

            if (failed == 0 || rows.Count < wanted)
            {
                break;
            }
        }

        if (leases is null)
        {
            return [];
        }

        leases.Sort(static (a, b) => a.Job.CreatedAt != b.Job.CreatedAt ? a.Job.CreatedAt.CompareTo(b.Job.CreatedAt) : a.Id.CompareTo(b.Id));
        return leases;
    }

    /// <summary>The jobs claims failed for their exhausted attempts since the last call.</summary>
    public IReadOnlyList<GenerationJob> TakeExhaustedJobs()
    {
        List<GenerationJob>? taken = null;
        while (_exhausted.TryDequeue(out var job))
        {
            (taken ??= []).Add(job);
        }

        return taken ?? [];
    }

    /// <summary>Completes one job through the store's batch completion (one code path for one and many).</summary>
    public static async Task<bool> CompleteOneAsync(Func<string, IReadOnlyList<JobCompletion>, CancellationToken, Task<IReadOnlyList<JobLease>>> completeMany, JobLease lease, JobResult result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(result);
        return (await completeMany(lease.Type, [new JobCompletion(lease, result)], cancellationToken).ConfigureAwait(false)).Count == 0;
    }

    /// <summary>The leases a lease-guarded batch statement did not write (their ids are not among
    /// <paramref name="written"/>): another claim took the job, or it was canceled or parked.</summary>
    public static IReadOnlyList<JobLease> Lost(IEnumerable<JobLease> leases, int count, IReadOnlySet<Guid> written) =>
        written.Count == count ? [] : [.. leases.Where(l => !written.Contains(l.Id))];
}
