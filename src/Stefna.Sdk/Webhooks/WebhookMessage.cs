namespace Stefna.Sdk.Webhooks;

/// <summary>One webhook message in a store's outbox: an event of one job for one URL. Its <see cref="Id"/> is the
/// <c>webhook-id</c> of every attempt, so receivers deduplicate on it.</summary>
public sealed record WebhookMessage
{
    /// <summary>The message id (<c>msg_</c> and 32 hex digits), the same on every retry.</summary>
    public required string Id { get; init; }

    /// <summary>The generation type of the job.</summary>
    public required string Type { get; init; }

    /// <summary>The job's id.</summary>
    public required Guid JobId { get; init; }

    /// <summary>The event type (<see cref="WebhookEventTypes"/>).</summary>
    public required string EventType { get; init; }

    /// <summary>Where the message goes.</summary>
    public required string Url { get; init; }

    /// <summary>The exact JSON body: <c>{"type":…,"timestamp":…,"data":{…}}</c>.</summary>
    public required string Payload { get; init; }

    /// <summary>When the event happened (the status change); retries stop <see cref="StefnaWebhookOptions.MaxAge"/> after it.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Delivery attempts so far, counting the one this claim is for (0 for a message not yet claimed).</summary>
    public int Attempts { get; init; }
}

/// <summary>What a store's outbox holds (<see cref="IWebhookOutbox.GetWebhookBacklogAsync"/>).</summary>
/// <param name="Pending">Messages not delivered yet and not given up.</param>
/// <param name="NextDueAt">When the earliest pending message is due (may be in the past); <see langword="null"/> when none is pending.</param>
public sealed record WebhookBacklog(long Pending, DateTimeOffset? NextDueAt);
