using Stefna.Sdk.Generators;

namespace Stefna.Sdk.Storage;

/// <summary>The records role of a store: a user's jobs and the feed, what the pipeline reads and writes on a user's
/// behalf. Every read is scoped to a user: another user's job reads as <see langword="null"/>.</summary>
public interface IJobRecordStore
{
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

    /// <summary>Cancels a user's job that has not finished.</summary>
    /// <param name="type">The type.</param>
    /// <param name="id">The job id.</param>
    /// <param name="userId">The user.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The job after the call, or <see langword="null"/> when the user has no such job.</returns>
    Task<GenerationJob?> CancelAsync(string type, Guid id, string userId, CancellationToken cancellationToken);

    /// <summary>Reads a page of a user's feed across types, newest first (then id descending), with keyset paging.</summary>
    /// <param name="query">The query; <see cref="FeedQuery.Types"/> is already resolved to registered types this store holds.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The page.</returns>
    Task<FeedPage> QueryFeedAsync(FeedQuery query, CancellationToken cancellationToken);
}
