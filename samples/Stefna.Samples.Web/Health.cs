using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Stefna.Sdk;
using Stefna.Sdk.Diagnostics;
using Stefna.Sdk.Providers;
using Stefna.Sdk.Storage;

namespace Stefna.Samples.Web;

/// <summary>
/// Watches the SDK's telemetry in-process: completed and failed jobs per type (the <c>Stefna.Sdk</c> meter) and the
/// circuit-breaker events of each type's resilience pipeline (Polly's <c>resilience.polly.strategy.events</c>).
/// </summary>
internal sealed class GenerationOutcomeMonitor : IDisposable
{
    /// <summary>How far back outcomes count toward the failure rate.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(5);

    internal const string CompletedInstrument = "stefna.jobs.completed";
    internal const string FailedInstrument = "stefna.jobs.failed";
    internal const string PollyMeter = "Polly";
    internal const string PollyEventsInstrument = "resilience.polly.strategy.events";

    private readonly TimeProvider _time;
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<(DateTimeOffset At, bool Failed)>> _outcomes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _circuits = new(StringComparer.Ordinal);

    public GenerationOutcomeMonitor(TimeProvider time)
    {
        _time = time;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if ((instrument.Meter.Name == StefnaTelemetry.Name && instrument.Name is CompletedInstrument or FailedInstrument)
                || (instrument.Meter.Name == PollyMeter && instrument.Name == PollyEventsInstrument))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, state) => OnMeasurement(instrument, value, tags, state));
        _listener.Start();
    }

    /// <summary>The outcomes of a type within <see cref="Window"/> and its circuit's last known state.</summary>
    public (int Completed, int Failed, string Circuit) Snapshot(string type)
    {
        var completed = 0;
        var failed = 0;
        if (_outcomes.TryGetValue(type, out var queue))
        {
            Prune(queue);
            foreach (var (_, isFailure) in queue)
            {
                if (isFailure) failed++; else completed++;
            }
        }

        return (completed, failed, _circuits.TryGetValue(type, out var circuit) ? circuit : "closed");
    }

    public void Dispose() => _listener.Dispose();

    private void OnMeasurement(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        if (instrument.Meter.Name == PollyMeter)
        {
            OnPollyEvent(tags);
            return;
        }

        if (Tag(tags, StefnaTelemetry.TypeTag) is not { } type)
        {
            return;
        }

        var queue = _outcomes.GetOrAdd(type, _ => new ConcurrentQueue<(DateTimeOffset, bool)>());
        var now = _time.GetUtcNow();
        for (var i = 0; i < value; i++)
        {
            queue.Enqueue((now, instrument.Name == FailedInstrument));
        }

        Prune(queue);
    }

    private void OnPollyEvent(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        // Each type's pipeline is keyed by the type's name, which Polly reports as the pipeline name.
        if (Tag(tags, "pipeline.name") is not { } type)
        {
            return;
        }

        var state = Tag(tags, "event.name") switch
        {
            "OnCircuitOpened" => "open",
            "OnCircuitHalfOpened" => "half-open",
            "OnCircuitClosed" => "closed",
            _ => null,
        };
        if (state is not null)
        {
            _circuits[type] = state;
        }
    }

    private void Prune(ConcurrentQueue<(DateTimeOffset At, bool Failed)> queue)
    {
        var oldest = _time.GetUtcNow() - Window;
        while (queue.TryPeek(out var head) && head.At < oldest)
        {
            queue.TryDequeue(out _);
        }
    }

    private static string? Tag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string key)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == key)
            {
                return tag.Value?.ToString();
            }
        }

        return null;
    }
}

/// <summary>
/// The health of one generation type: its table answers a cheap count through the store, a provider is configured for
/// it, its circuit is not open, and its recent failure rate is low.
/// </summary>
internal sealed class GenerationTypeHealthCheck(string type, IServiceProvider services, GenerationOutcomeMonitor monitor) : IHealthCheck
{
    /// <summary>Outcomes needed in the window before the failure rate is judged.</summary>
    public const int MinimumOutcomes = 4;

    /// <summary>The failure rate at or above which the type is degraded.</summary>
    public const double DegradedFailureRate = 0.5;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        var provider = services.GetKeyedService<IImageProvider>(type) ?? services.GetService<IImageProvider>();
        data["provider"] = provider?.GetType().Name ?? "none";
        var (completed, failed, circuit) = monitor.Snapshot(type);
        data["completedLast5Min"] = completed;
        data["failedLast5Min"] = failed;
        data["circuit"] = circuit;

        try
        {
            data["unfinished"] = await services.GetRequiredService<IMediaStore>().CountUnfinishedAsync(type, cancellationToken).ConfigureAwait(false);
            data["store"] = "reachable";
        }
#pragma warning disable CA1031 // Any failure of the store means the type cannot serve; report it rather than throw.
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
#pragma warning restore CA1031
        {
            data["store"] = "unreachable";
            return HealthCheckResult.Unhealthy($"The {type} table cannot be read: {ServerPaths.Redact(ex.Message)}", ex, data);
        }

        if (provider is null)
        {
            return HealthCheckResult.Unhealthy($"No image provider is configured for {type}.", data: data);
        }

        if (circuit == "open")
        {
            return HealthCheckResult.Degraded($"The {type} provider circuit is open: calls are refused until it recovers.", data: data);
        }

        var total = completed + failed;
        if (total >= MinimumOutcomes && (double)failed / total >= DegradedFailureRate)
        {
            return HealthCheckResult.Degraded($"{failed} of the last {total} {type} jobs failed.", data: data);
        }

        return HealthCheckResult.Healthy($"{type}: store reachable, provider configured.", data);
    }

    /// <summary>Writes the report as JSON: the overall status and each type's status, description and data.</summary>
    public static Task WriteReportAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var body = new
        {
            status = report.Status.ToString(),
            totalDurationMs = report.TotalDuration.TotalMilliseconds,
            types = report.Entries.ToDictionary(
                e => e.Key,
                e => new { status = e.Value.Status.ToString(), description = e.Value.Description, durationMs = e.Value.Duration.TotalMilliseconds, data = e.Value.Data }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, JsonOptions), context.RequestAborted);
    }

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = true };
}
