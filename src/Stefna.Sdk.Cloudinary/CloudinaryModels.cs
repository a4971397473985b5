using System.Net;

namespace Stefna.Sdk.Cloudinary;

/// <summary>Optional parameters of an upload.</summary>
public sealed record CloudinaryUploadParameters
{
    /// <summary>The asset's id inside <see cref="Folder"/>; Cloudinary picks a random one when unset.</summary>
    public string? PublicId { get; init; }

    /// <summary>The folder to upload into, e.g. <c>stefna/neo-glitch/results</c>.</summary>
    public string? Folder { get; init; }

    /// <summary>Tags (sent comma-joined); a tag must not contain a comma.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>Contextual metadata (sent as <c>key=value|key2=value2</c>, <c>=</c> and <c>|</c> in values escaped with a backslash).</summary>
    public IReadOnlyDictionary<string, string> Context { get; init; } = new Dictionary<string, string>();

    /// <summary>Whether an upload to an existing public id replaces it; Cloudinary's default applies when unset.</summary>
    public bool? Overwrite { get; init; }
}

/// <summary>Cloudinary's answer to an upload (the documented fields).</summary>
/// <param name="PublicId">The asset's public id, including its folder.</param>
/// <param name="Version">The asset's version (part of delivery URLs).</param>
/// <param name="SecureUrl">The https delivery URL.</param>
/// <param name="Url">The http delivery URL.</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Format">The stored format, e.g. <c>png</c>.</param>
/// <param name="Bytes">The stored size.</param>
/// <param name="ResourceType">The resource type, e.g. <c>image</c>.</param>
/// <param name="Signature">Cloudinary's signature of the response.</param>
/// <param name="CreatedAt">When the asset was created.</param>
/// <param name="Tags">The asset's tags.</param>
public sealed record CloudinaryUploadResult(
    string PublicId,
    long Version,
    string SecureUrl,
    string? Url,
    int? Width,
    int? Height,
    string? Format,
    long Bytes,
    string? ResourceType,
    string? Signature,
    DateTimeOffset? CreatedAt,
    IReadOnlyList<string> Tags);

/// <summary>Cloudinary answered an error (or could not be reached). <see cref="Exception.Message"/> is Cloudinary's own
/// message (from <c>{"error":{"message":"…"}}</c>) prefixed with the operation and status.</summary>
public class CloudinaryException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="operation">The API call, e.g. <c>upload</c>.</param>
    /// <param name="statusCode">The HTTP status, or <see langword="null"/> when no answer came.</param>
    /// <param name="cloudinaryMessage">Cloudinary's error message.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    public CloudinaryException(string operation, HttpStatusCode? statusCode, string cloudinaryMessage, Exception? innerException = null)
        : base(Describe(operation, statusCode, cloudinaryMessage), innerException)
    {
        Operation = operation;
        StatusCode = statusCode;
        CloudinaryMessage = cloudinaryMessage;
    }

    /// <summary>The API call, e.g. <c>upload</c> or <c>destroy</c>.</summary>
    public string Operation { get; }

    /// <summary>The HTTP status Cloudinary answered, or <see langword="null"/> when no answer came (network failure, timeout).</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>Cloudinary's own error message.</summary>
    public string CloudinaryMessage { get; }

    private static string Describe(string operation, HttpStatusCode? status, string message) => status is { } code
        ? $"Cloudinary {operation} failed with {(int)code} {Hint((int)code)}: {message}"
        : $"Cloudinary {operation} failed: {message}";

    private static string Hint(int status) => status switch
    {
        400 => "(bad request)",
        401 => "(invalid signature or credentials: check the API key and secret)",
        403 => "(forbidden)",
        404 => "(not found: check the cloud name)",
        420 or 429 => "(rate limited)",
        >= 500 => "(Cloudinary server error)",
        _ => string.Empty,
    };
}

/// <summary>Cloudinary kept answering 420/429, or its rate limit resets later than <see cref="CloudinaryOptions.MaxRateLimitWait"/>.</summary>
public sealed class CloudinaryRateLimitedException : CloudinaryException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="operation">The API call.</param>
    /// <param name="statusCode">420 or 429.</param>
    /// <param name="cloudinaryMessage">Cloudinary's message.</param>
    /// <param name="retryAfter">How long until the limit resets, when Cloudinary said.</param>
    public CloudinaryRateLimitedException(string operation, HttpStatusCode statusCode, string cloudinaryMessage, TimeSpan? retryAfter)
        : base(operation, statusCode, cloudinaryMessage)
    {
        RetryAfter = retryAfter;
    }

    /// <summary>How long until the limit resets, when Cloudinary said.</summary>
    public TimeSpan? RetryAfter { get; }
}
