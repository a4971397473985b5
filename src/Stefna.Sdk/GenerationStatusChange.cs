namespace Stefna.Sdk;

/// <summary>A job's status changed on this host: submitted (<see cref="GenerationStatus.Queued"/>), claimed
/// (<see cref="GenerationStatus.Processing"/>), put back for a retry or on shutdown (<see cref="GenerationStatus.Queued"/>
/// again, with the last error), or finished.</summary>
public sealed record GenerationStatusChange
{
    /// <summary>The generation type's name.</summary>
    public required string Type { get; init; }

    /// <summary>The job's id.</summary>
    public required Guid Id { get; init; }

    /// <summary>The owning user.</summary>
    public required string UserId { get; init; }

    /// <summary>The status the job has now.</summary>
    public required GenerationStatus Status { get; init; }

    /// <summary>The attempt the change belongs to (0 before the first claim).</summary>
    public int Attempt { get; init; }

    /// <summary>Why the job failed, or the error of the attempt that is being retried.</summary>
    public GenerationError? Error { get; init; }

    /// <summary>Where the generated image is delivered from, once completed.</summary>
    public string? ImageUrl { get; init; }

    /// <summary>When the change was recorded, on the host's clock.</summary>
    public required DateTimeOffset OccurredAt { get; init; }
}

/// <summary>
/// Receives the status changes of the jobs this host submits, runs and cancels, in process (register with
/// <c>builder.AddObserver&lt;T&gt;()</c>). Jobs that other hosts change are not seen here: follow one job across hosts
/// with <see cref="IGenerationPipeline.WatchAsync"/>, and deliver events to other systems with webhooks.
/// </summary>
/// <remarks>Called inline on the engine's path, after the change was stored, one call at a time per job but from many
/// jobs at once: keep it short and thread-safe, and hand slow work to a queue of your own. An exception is logged and
/// ignored; it never fails the job.</remarks>
public interface IGenerationObserver
{
    /// <summary>A job's status changed.</summary>
    /// <param name="change">The change.</param>
    void OnStatusChanged(GenerationStatusChange change);
}
