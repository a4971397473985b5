using Microsoft.Extensions.Logging;

namespace Stefna.Sdk.Cloudinary;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Debug, "Cloudinary upload stored {PublicId} ({Bytes} bytes) in {ElapsedMs} ms")]
    public static partial void Uploaded(ILogger logger, string publicId, long bytes, long elapsedMs);

    [LoggerMessage(2, LogLevel.Warning, "Cloudinary {Operation} rate limited ({Status}); waiting {Delay} for the reset (retry {Retry})")]
    public static partial void RateLimited(ILogger logger, string operation, int status, TimeSpan delay, int retry);

    [LoggerMessage(3, LogLevel.Warning, "Cloudinary {Operation} failed ({Status}); retrying after {Delay} (retry {Retry}): {Message}")]
    public static partial void Retrying(ILogger logger, string operation, int status, TimeSpan delay, int retry, string message);

    [LoggerMessage(4, LogLevel.Warning, "Cloudinary {Operation} failed with {Status}: {Message}")]
    public static partial void Failed(ILogger logger, string operation, int status, string message);

    [LoggerMessage(5, LogLevel.Debug, "Cloudinary destroyed {PublicId}")]
    public static partial void Destroyed(ILogger logger, string publicId);
}
