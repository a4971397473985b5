namespace Stefna.Sdk;

/// <summary>What kind of failure ended (or would end) a generation.</summary>
public enum GenerationErrorCategory
{
    /// <summary>The request itself is wrong: unknown type or preset, bad image, prompt too long. Not retried.</summary>
    InvalidRequest = 1,

    /// <summary>The provider refused the content under its policy. Not retried.</summary>
    ContentRejected = 2,

    /// <summary>The provider could not be reached, kept failing, or its circuit is open.</summary>
    ProviderUnavailable = 3,

    /// <summary>The provider answered with something unusable (malformed JSON, bytes that are not an image).</summary>
    ProviderError = 4,

    /// <summary>The generation did not finish in time.</summary>
    Timeout = 5,

    /// <summary>The image could not be stored or read back.</summary>
    StorageFailure = 6,

    /// <summary>The job was canceled.</summary>
    Canceled = 7,

    /// <summary>An unexpected failure inside the SDK or a plug-in.</summary>
    Internal = 8,
}

/// <summary>A failure as stored with a job: a category, a stable code and a message a person can act on.</summary>
/// <param name="Category">The kind of failure.</param>
/// <param name="Code">A stable machine-readable code, e.g. <c>invalid_request.prompt_too_long</c>.</param>
/// <param name="Message">A message a person can act on.</param>
public sealed record GenerationError(GenerationErrorCategory Category, string Code, string Message)
{
    /// <summary>The stored code prefix for a category, e.g. <c>provider_unavailable</c>.</summary>
    /// <param name="category">The category.</param>
    /// <returns>The snake_case name of the category.</returns>
    public static string CategoryCode(GenerationErrorCategory category) => category switch
    {
        GenerationErrorCategory.InvalidRequest => "invalid_request",
        GenerationErrorCategory.ContentRejected => "content_rejected",
        GenerationErrorCategory.ProviderUnavailable => "provider_unavailable",
        GenerationErrorCategory.ProviderError => "provider_error",
        GenerationErrorCategory.Timeout => "timeout",
        GenerationErrorCategory.StorageFailure => "storage_failure",
        GenerationErrorCategory.Canceled => "canceled",
        _ => "internal",
    };

    /// <summary>The code of a job failed because its lease expired on its last allowed attempt (the worker running it
    /// crashed, was killed or hung every time): <c>timeout.lease_expired</c>.</summary>
    public const string LeaseExpiredCode = "timeout.lease_expired";

    /// <summary>The failure a store records when it finds a processing job whose lease expired after the last allowed
    /// attempt (see <see cref="Storage.IJobQueue.ClaimAsync"/>): category <see cref="GenerationErrorCategory.Timeout"/>,
    /// code <see cref="LeaseExpiredCode"/>.</summary>
    /// <param name="maxAttempts">The most claims a job gets (<c>StefnaOptions.MaxAttempts</c>).</param>
    /// <returns>The error.</returns>
    public static GenerationError LeaseExpired(int maxAttempts) => new(
        GenerationErrorCategory.Timeout,
        LeaseExpiredCode,
        string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"The job used all {maxAttempts} attempt(s) (MaxAttempts) and its worker stopped before finishing the last one (it crashed, was killed or hung, so its lease expired); it is not claimed again. If the job crashes its worker every time, look for what in this request does that."));

    /// <summary>Reads the category back from a stored code such as <c>timeout</c> or <c>invalid_request.bad_image</c>.</summary>
    /// <param name="code">The stored code.</param>
    /// <returns>The category; <see cref="GenerationErrorCategory.Internal"/> when unknown.</returns>
    public static GenerationErrorCategory CategoryFromCode(string? code)
    {
        var head = code is null ? string.Empty : code.Split('.', 2)[0];
        foreach (var category in Enum.GetValues<GenerationErrorCategory>())
        {
            if (CategoryCode(category) == head)
            {
                return category;
            }
        }

        return GenerationErrorCategory.Internal;
    }
}

/// <summary>A generation failed, or a request was refused, for a reason described by <see cref="Category"/>.</summary>
public class GenerationException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="category">The kind of failure.</param>
    /// <param name="message">A message a person can act on.</param>
    /// <param name="code">A stable code; defaults to the category's code.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    public GenerationException(GenerationErrorCategory category, string message, string? code = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Category = category;
        Code = code ?? GenerationError.CategoryCode(category);
    }

    /// <summary>The kind of failure.</summary>
    public GenerationErrorCategory Category { get; }

    /// <summary>A stable machine-readable code.</summary>
    public string Code { get; }

    /// <summary>The failure as it is stored with a job.</summary>
    public GenerationError ToError() => new(Category, Code, Message);
}

/// <summary>A request was refused before anything was written: a bad field, image, type or option.</summary>
public class GenerationValidationException : GenerationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="field">The request field at fault, e.g. <c>prompt</c>.</param>
    /// <param name="message">What is wrong and how to fix it.</param>
    /// <param name="code">A stable code suffix, e.g. <c>prompt_too_long</c>.</param>
    public GenerationValidationException(string field, string message, string code = "invalid")
        : base(GenerationErrorCategory.InvalidRequest, message, "invalid_request." + code)
    {
        Field = field;
    }

    /// <summary>The request field at fault.</summary>
    public string Field { get; }
}

/// <summary>A request named a generation type that no plug-in registered.</summary>
public sealed class UnknownGenerationTypeException : GenerationValidationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="type">The type that was asked for.</param>
    /// <param name="knownTypes">The registered types.</param>
    public UnknownGenerationTypeException(string type, IEnumerable<string> knownTypes)
        : base("type", $"Unknown generation type '{type}'. Registered types: {string.Join(", ", knownTypes)}.", "unknown_type")
    {
        Type = type;
    }

    /// <summary>The type that was asked for.</summary>
    public string Type { get; }
}

/// <summary>An idempotency key was reused with a different request: the key already names a job whose prompt, preset,
/// options, tags or source differ. Nothing was written. Answer it as a conflict (HTTP 409): the caller must use a new key
/// for a new request, or repeat the first request exactly to get its job back.</summary>
public sealed class IdempotencyConflictException : GenerationException
{
    /// <summary>The stable code: <c>invalid_request.idempotency_conflict</c>.</summary>
    public const string ConflictCode = "invalid_request.idempotency_conflict";

    /// <summary>Creates the exception.</summary>
    /// <param name="existingJobId">The job the key already names.</param>
    /// <param name="differences">The request fields that differ, e.g. <c>prompt</c>.</param>
    public IdempotencyConflictException(Guid existingJobId, IReadOnlyList<string> differences)
        : base(GenerationErrorCategory.InvalidRequest, $"The idempotency key was already used for job {existingJobId} with a different request ({string.Join(", ", differences ?? [])} differ). Use a new key for a new request.", ConflictCode)
    {
        ExistingJobId = existingJobId;
        Differences = differences ?? [];
    }

    /// <summary>The job the key already names.</summary>
    public Guid ExistingJobId { get; }

    /// <summary>The request fields that differ from the existing job's.</summary>
    public IReadOnlyList<string> Differences { get; }
}
