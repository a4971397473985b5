using Microsoft.Extensions.Logging;

namespace Stefna.Sdk.Providers.Middleware;

/// <summary>Logs each provider call: start (Debug), completion with elapsed time (Information), failure with its
/// code (Warning). Never logs the prompt, the image or any header.</summary>
public sealed partial class LoggingImageProvider : DelegatingImageProvider
{
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    /// <summary>Wraps a provider.</summary>
    /// <param name="innerProvider">The provider.</param>
    /// <param name="logger">Where to log.</param>
    /// <param name="time">The clock for elapsed times.</param>
    public LoggingImageProvider(IImageProvider innerProvider, ILogger logger, TimeProvider? time = null)
        : base(innerProvider)
    {
        ArgumentNullException.ThrowIfNull(logger);
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public override ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return LoggedAsync("submit", request, () => base.SubmitAsync(request, cancellationToken));
    }

    /// <inheritdoc />
    public override ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return LoggedAsync("poll", request, () => base.PollAsync(providerJobId, request, cancellationToken));
    }

    private async ValueTask<ProviderResponse> LoggedAsync(string call, ProviderRequest request, Func<ValueTask<ProviderResponse>> next)
    {
        LogStarted(_logger, Name, call, request.Type, request.JobId);
        var started = _time.GetTimestamp();
        try
        {
            var response = await next().ConfigureAwait(false);
            LogFinished(_logger, Name, call, request.Type, request.JobId, response is ProviderResponse.Completed ? "completed" : "pending", (long)_time.GetElapsedTime(started).TotalMilliseconds);
            return response;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogFailed(_logger, Name, call, request.Type, request.JobId, ex is GenerationException g ? g.Code : ex.GetType().Name, (long)_time.GetElapsedTime(started).TotalMilliseconds);
            throw;
        }
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "Provider {Provider} {Call} for {Type}/{JobId}")]
    private static partial void LogStarted(ILogger logger, string provider, string call, string type, Guid jobId);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Provider {Provider} {Call} for {Type}/{JobId}: {Outcome} in {ElapsedMs} ms")]
    private static partial void LogFinished(ILogger logger, string provider, string call, string type, Guid jobId, string outcome, long elapsedMs);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Provider {Provider} {Call} for {Type}/{JobId} failed ({Code}) after {ElapsedMs} ms")]
    private static partial void LogFailed(ILogger logger, string provider, string call, string type, Guid jobId, string code, long elapsedMs);
}
