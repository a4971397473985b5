namespace Stefna.Sdk.Webhooks;

/// <summary>The webhook outbox of a store: an optional role, implemented by the shipped SQLite and PostgreSQL stores.
/// A store that implements it writes one message per event and URL (<see cref="WebhookOutboxEvents.Create"/>) in the
/// same transaction as the job's terminal status change (completed, failed, canceled), so an event can be delivered
/// late but never lost; the delivery loop of any host claims due messages, posts them and records the outcome. A store
/// that does not implement it (written before webhooks existed) still works: its jobs carry no events, and a submit
/// with a webhook URL is refused.</summary>
public interface IWebhookOutbox
{
    /// <summary>The URLs that receive every job's events besides the job's own (<see cref="StefnaWebhookOptions.Endpoints"/>);
    /// set by the SDK before the store initialises. Empty by default.</summary>
    IReadOnlyList<string> WebhookEndpoints { get; set; }

    /// <summary>Claims up to <paramref name="limit"/> due messages (not delivered, not given up, next attempt time come,
    /// no live lease), earliest first, leasing each for <paramref name="leaseDuration"/> and counting the attempt. Safe
    /// from many hosts at once: no two calls get the same attempt of a message; a host that dies holding messages
    /// leaves them to another host once the lease expires.</summary>
    /// <param name="limit">The most messages; at least 1.</param>
    /// <param name="leaseDuration">The lease.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The messages, each with its attempt number in <see cref="WebhookMessage.Attempts"/>.</returns>
    Task<IReadOnlyList<WebhookMessage>> ClaimWebhooksAsync(int limit, TimeSpan leaseDuration, CancellationToken cancellationToken);

    /// <summary>Records a delivered message (guarded by the claim's attempt).</summary>
    /// <param name="message">The claimed message.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="false"/> when the claim was lost.</returns>
    Task<bool> MarkWebhookDeliveredAsync(WebhookMessage message, CancellationToken cancellationToken);

    /// <summary>Schedules another attempt of a message that failed.</summary>
    /// <param name="message">The claimed message.</param>
    /// <param name="notBefore">When to try again.</param>
    /// <param name="error">What went wrong (status code or error, no secret).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="false"/> when the claim was lost.</returns>
    Task<bool> RetryWebhookAsync(WebhookMessage message, DateTimeOffset notBefore, string error, CancellationToken cancellationToken);

    /// <summary>Gives a message up (its maximum age passed); it stays in the outbox, marked, for inspection until it is
    /// pruned (<see cref="PruneWebhooksAsync"/>).</summary>
    /// <param name="message">The claimed message.</param>
    /// <param name="error">The last failure.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="false"/> when the claim was lost.</returns>
    Task<bool> AbandonWebhookAsync(WebhookMessage message, string error, CancellationToken cancellationToken);

    /// <summary>Deletes up to <paramref name="limit"/> finished messages (delivered, or given up) that finished before
    /// <paramref name="olderThan"/>, earliest first: a delivered message finished when it was delivered, a given-up one
    /// at the due time of its last attempt. Pending messages, leased or not, are never deleted. Safe from many hosts at
    /// once (a message is deleted once; a call may then return fewer).</summary>
    /// <param name="olderThan">The cut: messages that finished before it go.</param>
    /// <param name="limit">The most messages one call deletes (keeps each call short); at least 1.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>How many messages were deleted; fewer than <paramref name="limit"/> when no more are due to go.</returns>
    Task<int> PruneWebhooksAsync(DateTimeOffset olderThan, int limit, CancellationToken cancellationToken);

    /// <summary>How many messages are pending and when the next is due.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The backlog.</returns>
    Task<WebhookBacklog> GetWebhookBacklogAsync(CancellationToken cancellationToken);
}
