using Stefna.Sdk.Generators;
using Stefna.Sdk.Storage;

namespace Stefna.Sdk.Tests;

/// <summary>A store that passes everything through except what a test scripts.</summary>
internal sealed class ScriptedStore(IMediaStore inner) : IMediaStore
{
    public IMediaStore Inner => inner;

    /// <summary>Replaces lease renewal.</summary>
    public Func<string, IReadOnlyCollection<JobLease>, TimeSpan, CancellationToken, Task<IReadOnlyList<JobLease>>>? Renew { get; init; }

    /// <summary>Runs before the provider job id is recorded.</summary>
    public Func<JobLease, Task>? BeforeSetProviderJobId { get; init; }

    /// <summary>Runs (and is awaited) before each claim reaches the inner store.</summary>
    public Func<Task>? BeforeClaim { get; init; }

    public Task InitializeAsync(IReadOnlyList<GenerationTypeDefinition> types, CancellationToken cancellationToken) => inner.InitializeAsync(types, cancellationToken);

    public Task<InsertResult> InsertAsync(NewGenerationJob job, CancellationToken cancellationToken) => inner.InsertAsync(job, cancellationToken);

    public Task<GenerationJob?> FindByIdempotencyKeyAsync(string type, string userId, string idempotencyKey, CancellationToken cancellationToken) =>
        inner.FindByIdempotencyKeyAsync(type, userId, idempotencyKey, cancellationToken);

    public Task<GenerationJob?> GetAsync(string type, Guid id, string userId, CancellationToken cancellationToken) => inner.GetAsync(type, id, userId, cancellationToken);

    public async Task<IReadOnlyList<JobLease>> ClaimAsync(string type, int limit, TimeSpan leaseDuration, int maxAttempts, int? maxOutstanding, CancellationToken cancellationToken)
    {
        if (BeforeClaim is { } before)
        {
            await before();
        }

        return await inner.ClaimAsync(type, limit, leaseDuration, maxAttempts, maxOutstanding, cancellationToken);
    }

    public IReadOnlyList<GenerationJob> TakeExhaustedJobs() => inner.TakeExhaustedJobs();

    public Task<IReadOnlyList<JobLease>> RenewLeasesAsync(string type, IReadOnlyCollection<JobLease> leases, TimeSpan leaseDuration, CancellationToken cancellationToken) =>
        Renew is { } renew ? renew(type, leases, leaseDuration, cancellationToken) : inner.RenewLeasesAsync(type, leases, leaseDuration, cancellationToken);

    public async Task<bool> SetProviderJobIdAsync(JobLease lease, string providerJobId, CancellationToken cancellationToken)
    {
        if (BeforeSetProviderJobId is { } before)
        {
            await before(lease);
        }

        return await inner.SetProviderJobIdAsync(lease, providerJobId, cancellationToken);
    }

    public Task<bool> CompleteAsync(JobLease lease, JobResult result, CancellationToken cancellationToken) => inner.CompleteAsync(lease, result, cancellationToken);

    public Task<IReadOnlyList<JobLease>> CompleteManyAsync(string type, IReadOnlyList<JobCompletion> completions, CancellationToken cancellationToken) =>
        inner.CompleteManyAsync(type, completions, cancellationToken);

    public Task<bool> RequeueAsync(JobLease lease, GenerationError error, DateTimeOffset notBefore, CancellationToken cancellationToken) =>
        inner.RequeueAsync(lease, error, notBefore, cancellationToken);

    public Task<bool> ReleaseAsync(JobLease lease, CancellationToken cancellationToken) => inner.ReleaseAsync(lease, cancellationToken);

    public Task<bool> FailAsync(JobLease lease, GenerationError error, CancellationToken cancellationToken) => inner.FailAsync(lease, error, cancellationToken);

    public Task<GenerationJob?> CancelAsync(string type, Guid id, string userId, CancellationToken cancellationToken) => inner.CancelAsync(type, id, userId, cancellationToken);

    public Task<FeedPage> QueryFeedAsync(FeedQuery query, CancellationToken cancellationToken) => inner.QueryFeedAsync(query, cancellationToken);

    public Task<long> CountUnfinishedAsync(string type, CancellationToken cancellationToken) => inner.CountUnfinishedAsync(type, cancellationToken);

    public Task<QueueSnapshot> GetQueueSnapshotAsync(string type, CancellationToken cancellationToken) => inner.GetQueueSnapshotAsync(type, cancellationToken);
}
