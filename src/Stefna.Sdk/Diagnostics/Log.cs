using Microsoft.Extensions.Logging;

namespace Stefna.Sdk.Diagnostics;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Job {Type}/{JobId} submitted by user {UserId}")]
    public static partial void Submitted(ILogger logger, string type, Guid jobId, string userId);

    [LoggerMessage(2, LogLevel.Information, "Job {Type}/{JobId} completed in {ElapsedMs} ms (attempt {Attempt})")]
    public static partial void Completed(ILogger logger, string type, Guid jobId, long elapsedMs, int attempt);

    [LoggerMessage(3, LogLevel.Warning, "Job {Type}/{JobId} attempt {Attempt} failed ({Code}); retrying after {Delay}: {Message}")]
    public static partial void Retrying(ILogger logger, string type, Guid jobId, int attempt, string code, TimeSpan delay, string message);

    [LoggerMessage(4, LogLevel.Warning, "Job {Type}/{JobId} failed ({Code}) after {Attempt} attempt(s): {Message}")]
    public static partial void Failed(ILogger logger, string type, Guid jobId, int attempt, string code, string message);

    [LoggerMessage(5, LogLevel.Information, "Job {Type}/{JobId} lost its lease or was canceled; its result was discarded")]
    public static partial void Discarded(ILogger logger, string type, Guid jobId);

    [LoggerMessage(6, LogLevel.Error, "The worker loop for {Type} hit an error; backing off for {Delay}")]
    public static partial void LoopError(ILogger logger, Exception exception, string type, TimeSpan delay);

    [LoggerMessage(7, LogLevel.Information, "Stefna worker started for types {Types}")]
    public static partial void WorkerStarted(ILogger logger, string types);

    [LoggerMessage(8, LogLevel.Error, "Job {Type}/{JobId} hit an unexpected error")]
    public static partial void Unexpected(ILogger logger, Exception exception, string type, Guid jobId);

    [LoggerMessage(9, LogLevel.Information, "Job {Type}/{JobId} canceled by user {UserId}")]
    public static partial void Canceled(ILogger logger, string type, Guid jobId, string userId);

    [LoggerMessage(10, LogLevel.Information, "Job {Type}/{JobId} handed back to the queue by a stopping worker; attempt {Attempt} was returned")]
    public static partial void Released(ILogger logger, string type, Guid jobId, int attempt);

    [LoggerMessage(11, LogLevel.Warning, "Renewing {Count} lease(s) of {Type} failed; retrying at the next renewal")]
    public static partial void RenewalFailed(ILogger logger, Exception exception, string type, int count);

    [LoggerMessage(12, LogLevel.Warning, "Job {Type}/{JobId} lost its lease (attempt {Attempt}); stopping the attempt")]
    public static partial void LeaseLost(ILogger logger, string type, Guid jobId, int attempt);

    [LoggerMessage(13, LogLevel.Debug, "Job {Type}/{JobId} parked: provider job {ProviderStatus}, next check in {Wait}")]
    public static partial void Parked(ILogger logger, string type, Guid jobId, string providerStatus, TimeSpan wait);

    [LoggerMessage(14, LogLevel.Warning, "Asking the provider to cancel job {Type}/{JobId} failed; the job is canceled here regardless")]
    public static partial void ProviderCancelFailed(ILogger logger, Exception exception, string type, Guid jobId);

    [LoggerMessage(40, LogLevel.Warning, "An observer failed on the {Status} change of job {Type}/{JobId}; the job is not affected")]
    public static partial void ObserverFailed(ILogger logger, Exception exception, string status, string type, Guid jobId);
}
