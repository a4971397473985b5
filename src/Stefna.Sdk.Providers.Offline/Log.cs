using Microsoft.Extensions.Logging;

namespace Stefna.Sdk.Providers.Offline;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Debug, "Offline provider rendered job {JobId} ({Type}, effect {Effect}) at {Width}x{Height} from {Source} in {ElapsedMs} ms")]
    public static partial void Rendered(ILogger logger, Guid jobId, string type, string effect, int width, int height, string source, long elapsedMs);

    [LoggerMessage(2, LogLevel.Information, "Offline provider refused the source image of job {JobId} ({Type}): {Reason}")]
    public static partial void SourceRefused(ILogger logger, Guid jobId, string type, string reason);
}
