using Stefna.Sdk.Generators;

namespace Stefna.Sdk;

/// <summary>
/// The one front door of the SDK: it routes every request by its type to that type's generator, table, provider
/// and resilience pipeline. Submits return a ticket at once; a worker (in this process or another host) runs the job.
/// </summary>
public interface IGenerationPipeline
{
    /// <summary>The registered generation types, ordered by name.</summary>
    IReadOnlyList<GenerationTypeDefinition> Types { get; }

    /// <summary>Validates a request, stores its source image, writes a queued row to the type's table and returns at once.</summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">Cancels the submit; nothing is left behind.</param>
    /// <returns>The ticket.</returns>
    /// <exception cref="GenerationValidationException">The request is invalid; nothing was written.</exception>
    Task<GenerationTicket> SubmitAsync(GenerationRequest request, CancellationToken cancellationToken = default);

    /// <summary>Reads a job of the user's; another user's job reads as <see langword="null"/>.</summary>
    /// <param name="type">The type.</param>
    /// <param name="id">The job id.</param>
    /// <param name="userId">The user.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The job, or <see langword="null"/>.</returns>
    Task<GenerationJob?> GetStatusAsync(string type, Guid id, string userId, CancellationToken cancellationToken = default);

    /// <summary>Cancels a job of the user's that has not finished (a running job in this process is stopped too).</summary>
    /// <param name="type">The type.</param>
    /// <param name="id">The job id.</param>
    /// <param name="userId">The user.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The job after the call, or <see langword="null"/> when the user has no such job.</returns>
    Task<GenerationJob?> CancelAsync(string type, Guid id, string userId, CancellationToken cancellationToken = default);

    /// <summary>Waits until a job is completed, failed or canceled.</summary>
    /// <param name="type">The type.</param>
    /// <param name="id">The job id.</param>
    /// <param name="userId">The user.</param>
    /// <param name="timeout">The longest wait.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The finished job.</returns>
    /// <exception cref="KeyNotFoundException">The user has no such job.</exception>
    /// <exception cref="TimeoutException">The job did not finish in time.</exception>
    Task<GenerationJob> WaitForCompletionAsync(string type, Guid id, string userId, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>Follows a job of the user's until it ends: yields its current state first, then a snapshot each time its
    /// status, attempt, error or image changes, and ends after a completed, failed or canceled one. Changes made on any
    /// host are seen: through the store's notifications where it has them (PostgreSQL LISTEN/NOTIFY), else by re-reading
    /// every <c>StefnaOptions.WatchPollInterval</c>. Snapshots, not a log: a state that lasts less than the time to read it
    /// may be skipped (a fast job may go from queued straight to completed), but the final state is always yielded.</summary>
    /// <param name="type">The type.</param>
    /// <param name="id">The job id.</param>
    /// <param name="userId">The user.</param>
    /// <param name="cancellationToken">Stops following the job.</param>
    /// <returns>The job's states.</returns>
    /// <exception cref="KeyNotFoundException">The user has no such job (thrown by the first move; another user's job reads
    /// the same as a missing one).</exception>
    IAsyncEnumerable<GenerationJob> WatchAsync(string type, Guid id, string userId, CancellationToken cancellationToken = default);

    /// <summary>Reads one page of a user's feed, newest first, across types.</summary>
    /// <param name="query">The query.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The page.</returns>
    Task<FeedPage> GetFeedAsync(FeedQuery query, CancellationToken cancellationToken = default);

    /// <summary>Streams a user's whole feed (page by page under the hood), newest first.</summary>
    /// <param name="query">The query; its <see cref="FeedQuery.Limit"/> is the page size.</param>
    /// <param name="cancellationToken">Cancels the stream.</param>
    /// <returns>The jobs.</returns>
    IAsyncEnumerable<GenerationJob> ReadFeedAsync(FeedQuery query, CancellationToken cancellationToken = default);
}
