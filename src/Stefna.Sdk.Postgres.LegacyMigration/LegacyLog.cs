using Microsoft.Extensions.Logging;

namespace Stefna.Sdk.Postgres.Legacy;

internal static partial class LegacyLog
{
    [LoggerMessage(200, LogLevel.Information, "Legacy migration run {RunId} started from {Source}: {Total} rows in {Batches} batch(es)")]
    public static partial void Started(ILogger logger, long runId, string source, long total, int batches);

    [LoggerMessage(201, LogLevel.Information, "Resuming legacy migration run {RunId} after batch {Done} of {Batches}")]
    public static partial void Resuming(ILogger logger, long runId, int done, int batches);

    [LoggerMessage(202, LogLevel.Information, "Legacy migration run {RunId} finished: {Migrated} migrated, {Present} already present, {Unclassified} unclassified of {Total} rows in {ElapsedMs} ms")]
    public static partial void Finished(ILogger logger, long runId, long migrated, long present, long unclassified, long total, long elapsedMs);

    [LoggerMessage(203, LogLevel.Information, "Verified the legacy data of {Source}: passed {Passed}, {Differences} difference(s) over {Rows} rows")]
    public static partial void Verified(ILogger logger, string source, bool passed, long differences, long rows);

    [LoggerMessage(204, LogLevel.Warning, "Dropped the legacy table of {Source} after a passing verification; kept {Kept} row(s) no type table holds in media_assets_unmigrated")]
    public static partial void Dropped(ILogger logger, string source, long kept);

    [LoggerMessage(205, LogLevel.Debug, "The {Extension} extension is not available: {Message}")]
    public static partial void ExtensionUnavailable(ILogger logger, string extension, string message);
}
