using Stefna.Sdk;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Storage;

namespace Stefna.Sdk.Cloudinary.Tests;

/// <summary>A minimal thread-safe in-memory <see cref="IMediaStore"/> for the end-to-end test (no SQLite on this branch).</summary>
internal sealed class InMemoryMediaStore(TimeProvider time) : IMediaStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, GenerationJob> _jobs = [];

    public IReadOnlyList<GenerationJob> All()
    {
        lock (_gate)
        {
            return [.. _jobs.Values];
        }
    }

    public Task InitializeAsync(IReadOnlyList<GenerationTypeDefinition> types, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<InsertResult> InsertAsync(NewGenerationJob job, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (job.IdempotencyKey is not null && _jobs.Values.FirstOrDefault(j => j.Type == job.Type && j.UserId == job.UserId && j.IdempotencyKey == job.IdempotencyKey) is { } existing)
            {
                return Task.FromResult(new InsertResult(existing, false));
            }

            var stored = new GenerationJob
            {
                Id = job.Id,
                Type = job.Type,
                UserId = job.UserId,
                Status = GenerationStatus.Queued,
                Prompt = job.Prompt,
                Preset = job.Preset,
                SourceImageUrl = job.SourceImageUrl,
                Tags = job.Tags,
                Meta = job.Meta,
                Columns = job.Columns,
                IdempotencyKey = job.IdempotencyKey,
                CreatedAt = job.CreatedAt,
                UpdatedAt = job.CreatedAt,
            };
            _jobs[job.Id] = stored;
            return Task.FromResult(new InsertResult(stored, true));
        }
    }

    public Task<GenerationJob?> FindByIdempotencyKeyAsync(string type, string userId, string idempotencyKey, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_jobs.Values.FirstOrDefault(j => j.Type == type && j.UserId == userId && j.IdempotencyKey == idempotencyKey));
        }
    }

    public Task<GenerationJob?> GetAsync(string type, Guid id, string userId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_jobs.TryGetValue(id, out var job) && job.Type == type && job.UserId == userId ? job : null);
        }
    }

    public Task<IReadOnlyList<JobLease>> ClaimAsync(string type, int limit, TimeSpan leaseDuration, int maxAttempts, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var now = time.GetUtcNow();
            var next = _jobs.Values
                .Where(j => j.Type == type && ((j.Status == GenerationStatus.Queued && (j.LeaseUntil is null || j.LeaseUntil <= now)) || (j.Status == GenerationStatus.Processing && j.LeaseUntil <= now)))
                .OrderBy(j => j.CreatedAt)
                .Take(limit)
                .ToList();
            var leases = new List<JobLease>(next.Count);
            foreach (var job in next)
            {
                var claimed = job with { Status = GenerationStatus.Processing, Attempts = job.Attempts + 1, LeaseUntil = now + leaseDuration, UpdatedAt = now };
                _jobs[job.Id] = claimed;
                leases.Add(new JobLease(claimed));
            }

            return Task.FromResult<IReadOnlyList<JobLease>>(leases);
        }
    }

    public Task<IReadOnlyList<JobLease>> RenewLeasesAsync(string type, IReadOnlyCollection<JobLease> leases, TimeSpan leaseDuration, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<JobLease>>([.. leases.Where(l => !Update(l, j => j with { LeaseUntil = time.GetUtcNow() + leaseDuration }))]);

    public Task<bool> SetProviderJobIdAsync(JobLease lease, string providerJobId, CancellationToken cancellationToken) =>
        Task.FromResult(Update(lease, j => j with { ProviderJobId = providerJobId }));

    public Task<bool> CompleteAsync(JobLease lease, JobResult result, CancellationToken cancellationToken) =>
        Task.FromResult(Update(lease, j =>
        {
            var meta = new Dictionary<string, string>(j.Meta);
            foreach (var (key, value) in result.Meta)
            {
                meta[key] = value;
            }

            return j with { Status = GenerationStatus.Completed, ImageUrl = result.ImageUrl, Meta = meta, Error = null, LeaseUntil = null };
        }));

    public Task<bool> RequeueAsync(JobLease lease, GenerationError error, DateTimeOffset notBefore, CancellationToken cancellationToken) =>
        Task.FromResult(Update(lease, j => j with { Status = GenerationStatus.Queued, Error = error, LeaseUntil = notBefore }));

    public Task<bool> ReleaseAsync(JobLease lease, CancellationToken cancellationToken) =>
        Task.FromResult(Update(lease, j => j with { Status = GenerationStatus.Queued, Attempts = Math.Max(j.Attempts - 1, 0), LeaseUntil = null }));

    public Task<bool> FailAsync(JobLease lease, GenerationError error, CancellationToken cancellationToken) =>
        Task.FromResult(Update(lease, j => j with { Status = GenerationStatus.Failed, Error = error, LeaseUntil = null }));

    public Task<GenerationJob?> CancelAsync(string type, Guid id, string userId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_jobs.TryGetValue(id, out var job) || job.Type != type || job.UserId != userId)
            {
                return Task.FromResult<GenerationJob?>(null);
            }

            if (!job.Status.IsTerminal())
            {
                job = job with { Status = GenerationStatus.Canceled, UpdatedAt = time.GetUtcNow() };
                _jobs[id] = job;
            }

            return Task.FromResult<GenerationJob?>(job);
        }
    }

    public Task<FeedPage> QueryFeedAsync(FeedQuery query, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var items = _jobs.Values
                .Where(j => j.UserId == query.UserId && (query.Types is null || query.Types.Contains(j.Type)) && (query.Tag is null || j.Tags.Contains(query.Tag)) && (query.Status is null || j.Status == query.Status))
                .OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.Id)
                .Take(query.Limit)
                .ToList();
            return Task.FromResult(new FeedPage(items, null));
        }
    }

    public Task<long> CountUnfinishedAsync(string type, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult((long)_jobs.Values.Count(j => j.Type == type && !j.Status.IsTerminal()));
        }
    }

    private bool Update(JobLease lease, Func<GenerationJob, GenerationJob> change)
    {
        lock (_gate)
        {
            if (!_jobs.TryGetValue(lease.Id, out var job) || job.Status != GenerationStatus.Processing || job.Attempts != lease.Attempt)
            {
                return false;
            }

            _jobs[lease.Id] = change(job) with { UpdatedAt = time.GetUtcNow() };
            return true;
        }
    }
}
