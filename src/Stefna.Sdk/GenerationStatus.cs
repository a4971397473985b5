namespace Stefna.Sdk;

/// <summary>The lifecycle of a generation job: <c>Queued → Processing → Completed | Failed | Canceled</c>.</summary>
public enum GenerationStatus
{
    /// <summary>Accepted and waiting for a worker.</summary>
    Queued = 0,

    /// <summary>Claimed by a worker that holds its lease.</summary>
    Processing = 1,

    /// <summary>Finished; the image is stored and <see cref="GenerationJob.ImageUrl"/> is set.</summary>
    Completed = 2,

    /// <summary>Finished without an image; <see cref="GenerationJob.Error"/> says why.</summary>
    Failed = 3,

    /// <summary>Canceled by its user before it completed.</summary>
    Canceled = 4,
}

/// <summary>Conversions between <see cref="GenerationStatus"/> and the lower-case names stored in tables and shown by hosts.</summary>
public static class GenerationStatusNames
{
    /// <summary>The stored name of a status, e.g. <c>queued</c>.</summary>
    /// <param name="status">The status.</param>
    /// <returns>The lower-case name.</returns>
    public static string ToName(this GenerationStatus status) => status switch
    {
        GenerationStatus.Queued => "queued",
        GenerationStatus.Processing => "processing",
        GenerationStatus.Completed => "completed",
        GenerationStatus.Failed => "failed",
        GenerationStatus.Canceled => "canceled",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown generation status."),
    };

    /// <summary>Parses a stored status name.</summary>
    /// <param name="name">A name such as <c>completed</c> (case-insensitive).</param>
    /// <returns>The status.</returns>
    /// <exception cref="FormatException">The name is not a known status.</exception>
    public static GenerationStatus Parse(string name) => TryParse(name, out var status)
        ? status
        : throw new FormatException($"'{name}' is not a generation status; expected queued, processing, completed, failed or canceled.");

    /// <summary>Tries to parse a stored status name.</summary>
    /// <param name="name">A name such as <c>completed</c> (case-insensitive).</param>
    /// <param name="status">The status when the name is known.</param>
    /// <returns><see langword="true"/> when the name is a known status.</returns>
    public static bool TryParse(string? name, out GenerationStatus status)
    {
        switch (name?.ToLowerInvariant())
        {
            case "queued": status = GenerationStatus.Queued; return true;
            case "processing": status = GenerationStatus.Processing; return true;
            case "completed": status = GenerationStatus.Completed; return true;
            case "failed": status = GenerationStatus.Failed; return true;
            case "canceled" or "cancelled": status = GenerationStatus.Canceled; return true;
            default: status = default; return false;
        }
    }

    /// <summary>Whether a status is final.</summary>
    /// <param name="status">The status.</param>
    /// <returns><see langword="true"/> for completed, failed and canceled.</returns>
    public static bool IsTerminal(this GenerationStatus status) =>
        status is GenerationStatus.Completed or GenerationStatus.Failed or GenerationStatus.Canceled;
}
