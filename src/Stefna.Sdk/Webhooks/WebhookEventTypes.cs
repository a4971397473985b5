namespace Stefna.Sdk.Webhooks;

/// <summary>The event types a webhook carries in its <c>type</c> field.</summary>
public static class WebhookEventTypes
{
    /// <summary>A job completed; <c>data.imageUrl</c> holds the generated image.</summary>
    public const string Completed = "generation.completed";

    /// <summary>A job failed for good; <c>data.error</c> says why.</summary>
    public const string Failed = "generation.failed";

    /// <summary>A job was canceled.</summary>
    public const string Canceled = "generation.canceled";

    /// <summary>The event type of a terminal status.</summary>
    /// <param name="status">The status.</param>
    /// <returns>The event type, or <see langword="null"/> for a status that is not terminal.</returns>
    public static string? Of(GenerationStatus status) => status switch
    {
        GenerationStatus.Completed => Completed,
        GenerationStatus.Failed => Failed,
        GenerationStatus.Canceled => Canceled,
        _ => null,
    };
}
