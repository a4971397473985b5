using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Internal;
using Stefna.Sdk.Net;
using Stefna.Sdk.Storage;

namespace Stefna.Sdk.Webhooks;

/// <summary>Delivers the webhook messages of the store's outbox (<see cref="IWebhookOutbox"/>): claims due messages,
/// POSTs each, signed per Standard Webhooks, to its URL through the SSRF guard, and records the outcome. A failed
/// attempt (non-2xx, timeout, connection error) is retried after <see cref="StefnaWebhookOptions.FirstRetryDelay"/>,
/// doubling up to <see cref="StefnaWebhookOptions.MaxRetryDelay"/>, with the same <c>webhook-id</c>, until
/// <see cref="StefnaWebhookOptions.MaxAge"/> after the event; then it is given up. Delivered and given-up messages are
/// deleted once <see cref="StefnaWebhookOptions.Retention"/> has passed (<see cref="PruneAsync"/>, at most once per
/// <see cref="PruneInterval"/> of the loop). Runs as a hosted service beside the worker; any number of hosts may run it
/// against one store.</summary>
public sealed class WebhookDispatcher : IDisposable
{
    /// <summary>How often the delivery loop prunes finished messages (<see cref="PruneAsync"/>): one hour.</summary>
    public static readonly TimeSpan PruneInterval = TimeSpan.FromHours(1);

    // The most messages one prune statement deletes: each statement stays short, so delivery never waits long.
    internal const int PruneBatch = 1000;

    private readonly Lazy<IReadOnlyList<IWebhookOutbox>> _outboxes;
    private readonly WebhookTelemetry _telemetry;
    private readonly StefnaInitializer _initializer;
    private readonly TimeProvider _time;
    private readonly StefnaWebhookOptions _options;
    private readonly ILogger _logger;
    private readonly HttpClient _client;
    private readonly byte[][] _keys;
    private long _delivered;
    private long _failedAttempts;
    private long _abandoned;
    private long _pruned;
    private DateTimeOffset _nextPruneAt = DateTimeOffset.MinValue;

    internal WebhookDispatcher(MediaStoreRouter stores, StefnaInitializer initializer, IHostAddressResolver resolver, IImageAddressPolicy policy, TimeProvider time, IOptions<StefnaWebhookOptions> options, WebhookTelemetry telemetry, ILogger<WebhookDispatcher> logger)
    {
        // Every store the types use that keeps an outbox (the default store, and each type's own store).
        _outboxes = new(() => [.. stores.StoresWith<IWebhookOutbox>()]);
        _telemetry = telemetry;
        _initializer = initializer;
        _time = time;
        _options = options.Value;
        _logger = logger;
        _keys = [.. _options.Secrets.Select(WebhookSignature.DecodeSecret)];
        var allowPrivate = _options.AllowPrivateUrls;
        _client = new HttpClient(GuardedConnector.CreateHandler(resolver, policy, () => allowPrivate)) { Timeout = Timeout.InfiniteTimeSpan };
        _client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("Stefna-Webhooks", "1"));
    }

    /// <summary>Whether this host delivers: the store has an outbox and a signing secret is configured. A host without
    /// a secret (a submit-only front end, an application that uses no webhooks) never claims a message, so it cannot
    /// spend another host's retries.</summary>
    public bool Enabled => _keys.Length > 0 && _outboxes.Value.Count > 0;

    /// <summary>Messages this instance delivered.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Attempts of this instance that failed (each is retried until the maximum age).</summary>
    public long FailedAttempts => Interlocked.Read(ref _failedAttempts);

    /// <summary>Messages this instance gave up.</summary>
    public long Abandoned => Interlocked.Read(ref _abandoned);

    /// <summary>Finished messages this instance deleted (<see cref="PruneAsync"/>).</summary>
    public long Pruned => Interlocked.Read(ref _pruned);

    /// <summary>Runs the delivery loop until canceled, or (with <paramref name="exitWhenIdle"/>) until the outbox holds
    /// no pending message. Returns at once when this host does not deliver (<see cref="Enabled"/>).</summary>
    /// <param name="exitWhenIdle">Return once nothing is pending (delivered or given up).</param>
    /// <param name="cancellationToken">Stops the loop.</param>
    /// <returns>A task that ends with the loop.</returns>
    public Task RunAsync(bool exitWhenIdle, CancellationToken cancellationToken) =>
        RunCoreAsync(() => exitWhenIdle, cancellationToken);

    /// <summary>Runs the delivery loop while <paramref name="work"/> runs (a worker processing jobs, whose completions
    /// write messages), then until the outbox holds no pending message: what a host that exits when idle runs. An
    /// attempt in flight when the work ends is finished, not abandoned to its lease.</summary>
    /// <param name="work">The work whose end allows the loop to exit once nothing is pending.</param>
    /// <param name="cancellationToken">Stops the loop.</param>
    /// <returns>A task that ends with the loop.</returns>
    public Task RunUntilIdleAfterAsync(Task work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        return RunCoreAsync(() => work.IsCompleted, cancellationToken);
    }

    private async Task RunCoreAsync(Func<bool> mayExitWhenIdle, CancellationToken cancellationToken)
    {
        await _initializer.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        if (!Enabled)
        {
            return;
        }

        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var wait = _options.PollInterval;
            await PruneWhenDueAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var claimed = await DeliverDueAsync(cancellationToken).ConfigureAwait(false);
                if (claimed >= _options.BatchSize)
                {
                    continue;
                }

                var backlog = await BacklogAsync(cancellationToken).ConfigureAwait(false);
                if (backlog.Pending == 0 && mayExitWhenIdle())
                {
                    return;
                }

                if (backlog.NextDueAt is { } due)
                {
                    var until = due - _time.GetUtcNow();
                    wait = until <= TimeSpan.Zero ? TimeSpan.FromMilliseconds(10) : until < wait ? until : wait;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                WebhookLog.LoopError(_logger, ex);
            }

            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Claims one batch of due messages and attempts each once, concurrently.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>How many messages were claimed (0 when nothing was due, or the host does not deliver: <see cref="Enabled"/>).</returns>
    public async Task<int> DeliverDueAsync(CancellationToken cancellationToken = default)
    {
        if (!Enabled)
        {
            return 0;
        }

        await _initializer.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var attempts = new List<Task>();
        foreach (var outbox in _outboxes.Value)
        {
            if (attempts.Count >= _options.BatchSize)
            {
                break;
            }

            var messages = await outbox.ClaimWebhooksAsync(_options.BatchSize - attempts.Count, _options.LeaseDuration, cancellationToken).ConfigureAwait(false);
            attempts.AddRange(messages.Select(m => AttemptAsync(outbox, m, cancellationToken)));
        }

        await Task.WhenAll(attempts).ConfigureAwait(false);
        return attempts.Count;
    }

    /// <summary>Deletes the delivered and given-up messages that finished more than
    /// <see cref="StefnaWebhookOptions.Retention"/> ago (on the host's clock), from every outbox, in batches until one
    /// comes back short. Pending messages are never deleted. Harmless from many hosts at once. The delivery loop calls
    /// it at most once per <see cref="PruneInterval"/>.</summary>
    /// <param name="cancellationToken">Cancels the call (between batches or within one).</param>
    /// <returns>How many messages were deleted (0 when the host does not deliver: <see cref="Enabled"/>).</returns>
    public async Task<int> PruneAsync(CancellationToken cancellationToken = default)
    {
        if (!Enabled)
        {
            return 0;
        }

        await _initializer.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var cut = _time.GetUtcNow() - _options.Retention;
        var total = 0;
        foreach (var outbox in _outboxes.Value)
        {
            int deleted;
            do
            {
                deleted = await outbox.PruneWebhooksAsync(cut, PruneBatch, cancellationToken).ConfigureAwait(false);
                total += deleted;
                Interlocked.Add(ref _pruned, deleted);
            }
            while (deleted >= PruneBatch);
        }

        return total;
    }

    // The loop's pruning: at most once per PruneInterval; a failure is logged and tried again at the next interval.
    private async Task PruneWhenDueAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (now < _nextPruneAt)
        {
            return;
        }

        _nextPruneAt = now + PruneInterval;
        try
        {
            var pruned = await PruneAsync(cancellationToken).ConfigureAwait(false);
            if (pruned > 0)
            {
                WebhookLog.Pruned(_logger, pruned, _options.Retention);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            WebhookLog.PruneError(_logger, ex);
        }
    }

    /// <summary>How many messages are pending and when the next is due; nothing when the store has no outbox.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The backlog.</returns>
    public async Task<WebhookBacklog> GetBacklogAsync(CancellationToken cancellationToken = default)
    {
        await _initializer.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        return await BacklogAsync(cancellationToken).ConfigureAwait(false);
    }

    // The backlog of every outbox together: messages pending, and the earliest due.
    private async Task<WebhookBacklog> BacklogAsync(CancellationToken cancellationToken)
    {
        long pending = 0;
        DateTimeOffset? next = null;
        foreach (var outbox in _outboxes.Value)
        {
            var backlog = await outbox.GetWebhookBacklogAsync(cancellationToken).ConfigureAwait(false);
            pending += backlog.Pending;
            next = backlog.NextDueAt is { } due && (next is null || due < next) ? due : next;
        }

        return new WebhookBacklog(pending, next);
    }

    /// <inheritdoc />
    public void Dispose() => _client.Dispose();

    private async Task AttemptAsync(IWebhookOutbox outbox, WebhookMessage message, CancellationToken cancellationToken)
    {
        var tags = WebhookTelemetry.Tags(message);
        var now = _time.GetUtcNow();
        var deadline = message.CreatedAt + _options.MaxAge;
        if (now > deadline)
        {
            await AbandonAsync(outbox, message, "the maximum age passed before the attempt", tags, cancellationToken).ConfigureAwait(false);
            return;
        }

        string? error;
        var started = Stopwatch.GetTimestamp();
        _telemetry.Attempts.Add(1, tags);
        try
        {
            error = await PostAsync(message, now, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return; // Host stopping: the lease runs out and the message is tried again.
        }

        _telemetry.RequestDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
        if (error is null)
        {
            if (await outbox.MarkWebhookDeliveredAsync(message, CancellationToken.None).ConfigureAwait(false))
            {
                Interlocked.Increment(ref _delivered);
                _telemetry.Delivered.Add(1, tags);
                _telemetry.Latency.Record((_time.GetUtcNow() - message.CreatedAt).TotalSeconds, tags);
            }

            return;
        }

        Interlocked.Increment(ref _failedAttempts);
        _telemetry.Failures.Add(1, tags);
        var now2 = _time.GetUtcNow();
        if (now2 >= deadline)
        {
            await AbandonAsync(outbox, message, error, tags, cancellationToken).ConfigureAwait(false);
            return;
        }

        var next = now2 + RetryDelay(message.Attempts);
        if (next > deadline)
        {
            next = deadline;
        }

        WebhookLog.Retrying(_logger, message.Id, message.EventType, message.Attempts, error, next);
        await outbox.RetryWebhookAsync(message, next, error, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>The delay after the given (1-based) failed attempt: first delay, doubling, capped.</summary>
    internal TimeSpan RetryDelay(int attempt)
    {
        var ticks = _options.FirstRetryDelay.Ticks * Math.Pow(2, Math.Clamp(attempt - 1, 0, 40));
        return ticks >= _options.MaxRetryDelay.Ticks ? _options.MaxRetryDelay : TimeSpan.FromTicks((long)ticks);
    }

    private async Task AbandonAsync(IWebhookOutbox outbox, WebhookMessage message, string error, System.Diagnostics.TagList tags, CancellationToken cancellationToken)
    {
        if (await outbox.AbandonWebhookAsync(message, error, CancellationToken.None).ConfigureAwait(false))
        {
            Interlocked.Increment(ref _abandoned);
            _telemetry.Abandoned.Add(1, tags);
            WebhookLog.Abandoned(_logger, message.Id, message.EventType, message.Attempts, error);
        }
    }

    // Null when delivered (2xx), else what went wrong, without the URL's query or any secret.
    private async Task<string?> PostAsync(WebhookMessage message, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var body = Encoding.UTF8.GetBytes(message.Payload);
        var timestamp = WebhookSignature.Timestamp(now);
        using var request = new HttpRequestMessage(HttpMethod.Post, message.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation(WebhookSignature.IdHeader, message.Id);
        request.Headers.TryAddWithoutValidation(WebhookSignature.TimestampHeader, timestamp);
        request.Headers.TryAddWithoutValidation(WebhookSignature.SignatureHeader, WebhookSignature.SignAll(_keys, message.Id, timestamp, body));
        using var timeout = new CancellationTokenSource(_options.RequestTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            return response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}";
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return $"no answer within {_options.RequestTimeout.TotalSeconds:0.#} s";
        }
        catch (HttpRequestException ex)
        {
            return "request failed: " + (ex.HttpRequestError == HttpRequestError.Unknown ? ex.Message : ex.HttpRequestError.ToString());
        }
    }
}

internal static partial class WebhookLog
{
    [LoggerMessage(300, LogLevel.Warning, "Webhook {MessageId} ({EventType}) attempt {Attempt} failed: {Error}; next attempt at {NextAt:O}")]
    public static partial void Retrying(ILogger logger, string messageId, string eventType, int attempt, string error, DateTimeOffset nextAt);

    [LoggerMessage(301, LogLevel.Error, "Webhook {MessageId} ({EventType}) given up after {Attempts} attempt(s), its maximum age passed: {Error}")]
    public static partial void Abandoned(ILogger logger, string messageId, string eventType, int attempts, string error);

    [LoggerMessage(302, LogLevel.Error, "The webhook delivery loop hit an error; trying again shortly")]
    public static partial void LoopError(ILogger logger, Exception exception);

    [LoggerMessage(303, LogLevel.Information, "Deleted {Count} finished webhook message(s) older than {Retention}")]
    public static partial void Pruned(ILogger logger, int count, TimeSpan retention);

    [LoggerMessage(304, LogLevel.Warning, "Pruning the webhook outbox failed; trying again at the next interval")]
    public static partial void PruneError(ILogger logger, Exception exception);
}

/// <summary>Runs the delivery loop beside the worker (<see cref="Configuration.StefnaOptions.RunWorker"/> and
/// <see cref="StefnaWebhookOptions.RunDelivery"/>).</summary>
internal sealed class WebhookHostedService(IServiceProvider services, IOptions<Configuration.StefnaOptions> options, IOptions<StefnaWebhookOptions> webhookOptions) : Microsoft.Extensions.Hosting.BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        options.Value.RunWorker && webhookOptions.Value.RunDelivery
            ? Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<WebhookDispatcher>(services).RunAsync(exitWhenIdle: false, stoppingToken)
            : Task.CompletedTask;
}
