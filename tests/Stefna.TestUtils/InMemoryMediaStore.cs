using Stefna.Sdk;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Storage;

namespace Stefna.TestUtils;

/// <summary>
/// An <see cref="IMediaStore"/> in memory for pipeline tests, with the contract's semantics: one table per type,
/// user-scoped reads, idempotency keys unique per user and type, claims oldest-first (queued and past its back-off,
/// or processing with an expired lease), writes guarded by the lease's attempt, requeue with a not-before time, release that returns the attempt,
/// cancel of unfinished jobs, and a keyset-paged feed across types. Thread-safe (one lock).
/// </summary>
public sealed class InMemoryMediaStore(TimeProvider? time = null) : IMediaStore
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Dictionary<Guid, GenerationJob>> _tables = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GenerationTypeDefinition> _definitions = new(StringComparer.Ordinal);
    private readonly List<GenerationJob> _exhausted = [];

    /// <summary>The tables created by <see cref="InitializeAsync"/>.</summary>
    public IReadOnlyCollection<string> Types
    {
        get
        {
            lock (_gate)
            {
                return [.. _tables.Keys];
            }
        }
    }

    /// <summary>Every job of a type, whoever owns it (for assertions).</summary>
    /// <param name="type">The type.</param>
    /// <returns>The jobs, oldest first.</returns>
    public IReadOnlyList<GenerationJob> All(string type)
    {
        lock (_gate)
        {
            return [.. Table(type).Values.OrderBy(j => j.CreatedAt).ThenBy(j => j.Id)];
        }
    }

    /// <inheritdoc />
    public Task InitializeAsync(IReadOnlyList<GenerationTypeDefinition> types, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            foreach (var type in types)
            {
                _tables.TryAdd(type.Name, []);
                _definitions[type.Name] = type;
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<InsertResult> InsertAsync(NewGenerationJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        lock (_gate)
        {
            var table = Table(job.Type);
            MediaStoreChecks.CheckInsert(_definitions[job.Type], job);
            if (job.IdempotencyKey is not null && Find(table, job.UserId, job.IdempotencyKey) is { } existing)
            {
                return Task.FromResult(new InsertResult(existing, Created: false));
            }

            if (table.ContainsKey(job.Id))
            {
                throw new InvalidOperationException($"Job {job.Id} already exists.");
            }

            var row = job.ToQueuedJob(_definitions[job.Type]);
            table.Add(row.Id, row);
            return Task.FromResult(new InsertResult(row, Created: true));
        }
    }

    /// <inheritdoc />
    public Task<GenerationJob?> FindByIdempotencyKeyAsync(string type, string userId, string idempotencyKey, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(Find(Table(type), userId, idempotencyKey));
        }
    }

    /// <inheritdoc />
    public Task<GenerationJob?> GetAsync(string type, Guid id, string userId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(Table(type).TryGetValue(id, out var job) && job.UserId == userId ? job : null);
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<JobLease>> ClaimAsync(string type, int limit, TimeSpan leaseDuration, int maxAttempts, int? maxOutstanding, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var exhausted = GenerationError.LeaseExpired(maxAttempts);
            foreach (var lost in Table(type).Values.Where(j => j.Status == GenerationStatus.Processing && j.LeaseUntil < now && j.Attempts >= maxAttempts).ToList())
            {
                _exhausted.Add(Put(lost with { Status = GenerationStatus.Failed, LeaseUntil = null, Error = exhausted, UpdatedAt = now }));
            }

            if (maxOutstanding is { } most)
            {
                // Jobs processing (running or holding an unexpired lease) are outstanding at the provider.
                ArgumentOutOfRangeException.ThrowIfLessThan(most, 1, nameof(maxOutstanding));
                var free = most - Table(type).Values.Count(j => j.Status == GenerationStatus.Processing);
                if (free <= 0)
                {
                    return Task.FromResult<IReadOnlyList<JobLease>>([]);
                }

                limit = Math.Min(limit, free);
            }

            var next = Table(type).Values
                .Where(j => (j.Status == GenerationStatus.Queued && (j.LeaseUntil is null || j.LeaseUntil <= now))
                    || (j.Status == GenerationStatus.Processing && j.LeaseUntil < now && j.Attempts < maxAttempts))
                .OrderBy(j => j.CreatedAt)
                .ThenBy(j => j.Id)
                .Take(limit)
                .ToList();
            IReadOnlyList<JobLease> leases = [.. next.Select(j => new JobLease(Put(j with { Status = GenerationStatus.Processing, Attempts = j.Attempts + 1, LeaseUntil = now + leaseDuration, UpdatedAt = now })))];
            return Task.FromResult(leases);
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<GenerationJob> TakeExhaustedJobs()
    {
        lock (_gate)
        {
            List<GenerationJob> taken = [.. _exhausted];
            _exhausted.Clear();
            return taken;
        }
    }

    /// <inheritdoc />
    public Task<QueueSnapshot> GetQueueSnapshotAsync(string type, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var queued = Table(type).Values.Where(j => j.Status == GenerationStatus.Queued).ToList();
            return Task.FromResult(new QueueSnapshot(queued.Count, queued.Count == 0 ? null : queued.Min(j => j.CreatedAt)));
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<JobLease>> RenewLeasesAsync(string type, IReadOnlyCollection<JobLease> leases, TimeSpan leaseDuration, CancellationToken cancellationToken)
    {
        var lost = new List<JobLease>();
        foreach (var lease in leases)
        {
            if (!await Guarded(lease, (job, now) => job with { LeaseUntil = now + leaseDuration }))
            {
                lost.Add(lease);
            }
        }

        return lost;
    }

    /// <inheritdoc />
    public Task<bool> SetProviderJobIdAsync(JobLease lease, string providerJobId, CancellationToken cancellationToken) =>
        Guarded(lease, (job, now) => job with { ProviderJobId = providerJobId, UpdatedAt = now });

    /// <inheritdoc />
    public Task<bool> CompleteAsync(JobLease lease, JobResult result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(result);
        return Guarded(lease, (job, now) =>
        {
            var meta = new Dictionary<string, string>(job.Meta);
            foreach (var pair in result.Meta)
            {
                meta[pair.Key] = pair.Value;
            }

            return job with { Status = GenerationStatus.Completed, ImageUrl = result.ImageUrl, Meta = meta, Error = null, LeaseUntil = null, UpdatedAt = now };
        });
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<JobLease>> CompleteManyAsync(string type, IReadOnlyList<JobCompletion> completions, CancellationToken cancellationToken)
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

    /// <inheritdoc />
    public Task<bool> RequeueAsync(JobLease lease, GenerationError error, DateTimeOffset notBefore, CancellationToken cancellationToken) =>
        Guarded(lease, (job, now) => job with { Status = GenerationStatus.Queued, Error = error, LeaseUntil = notBefore, UpdatedAt = now });

    /// <inheritdoc />
    public Task<bool> ReleaseAsync(JobLease lease, CancellationToken cancellationToken) =>
        Guarded(lease, (job, now) => job with { Status = GenerationStatus.Queued, Attempts = Math.Max(job.Attempts - 1, 0), LeaseUntil = null, UpdatedAt = now });

    /// <inheritdoc />
    public Task<bool> FailAsync(JobLease lease, GenerationError error, CancellationToken cancellationToken) =>
        Guarded(lease, (job, now) => job with { Status = GenerationStatus.Failed, Error = error, LeaseUntil = null, UpdatedAt = now });

    /// <inheritdoc />
    public Task<GenerationJob?> CancelAsync(string type, Guid id, string userId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!Table(type).TryGetValue(id, out var job) || job.UserId != userId)
            {
                return Task.FromResult<GenerationJob?>(null);
            }

            return Task.FromResult<GenerationJob?>(job.Status.IsTerminal()
                ? job
                : Put(job with { Status = GenerationStatus.Canceled, LeaseUntil = null, Error = new GenerationError(GenerationErrorCategory.Canceled, "canceled", "Canceled by its user."), UpdatedAt = _time.GetUtcNow() }));
        }
    }

    /// <inheritdoc />
    public Task<FeedPage> QueryFeedAsync(FeedQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        lock (_gate)
        {
            var cursor = MediaStoreChecks.CheckFeedQuery(query);
            var types = query.Types is { Count: > 0 } ? query.Types : [.. _tables.Keys];
            var items = types.Where(_tables.ContainsKey)
                .SelectMany(t => _tables[t].Values)
                .Where(j => j.UserId == query.UserId)
                .Where(j => query.Status is null || j.Status == query.Status)
                .Where(j => query.Tag is null || j.Tags.Contains(query.Tag, StringComparer.Ordinal))
                .Where(j => cursor is not { } c || j.CreatedAt < c.CreatedAt || (j.CreatedAt == c.CreatedAt && j.Id.CompareTo(c.Id) < 0))
                .OrderByDescending(j => j.CreatedAt)
                .ThenByDescending(j => j.Id)
                .Take(query.Limit + 1)
                .ToList();
            var more = items.Count > query.Limit;
            var page = items.Take(query.Limit).ToList();
            return Task.FromResult(new FeedPage(page, more ? new FeedCursor(page[^1].CreatedAt, page[^1].Id).Encode() : null));
        }
    }

    /// <inheritdoc />
    public Task<long> CountUnfinishedAsync(string type, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult((long)Table(type).Values.Count(j => j.Status is GenerationStatus.Queued or GenerationStatus.Processing));
        }
    }

    private Task<bool> Guarded(JobLease lease, Func<GenerationJob, DateTimeOffset, GenerationJob> change)
    {
        ArgumentNullException.ThrowIfNull(lease);
        lock (_gate)
        {
            // A write holds only while the row is still processing under the lease's attempt.
            if (!Table(lease.Type).TryGetValue(lease.Id, out var job) || job.Status != GenerationStatus.Processing || job.Attempts != lease.Attempt)
            {
                return Task.FromResult(false);
            }

            Put(change(job, _time.GetUtcNow()));
            return Task.FromResult(true);
        }
    }

    private GenerationJob Put(GenerationJob job)
    {
        Table(job.Type)[job.Id] = job;
        return job;
    }

    private Dictionary<Guid, GenerationJob> Table(string type) =>
        _tables.TryGetValue(type, out var table) ? table : throw new InvalidOperationException($"The table of '{type}' was not initialized.");

    private static GenerationJob? Find(Dictionary<Guid, GenerationJob> table, string userId, string key) =>
        table.Values.FirstOrDefault(j => j.UserId == userId && j.IdempotencyKey == key);
}
