using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Internal;
using Stefna.Sdk.Pipeline;
using Stefna.Sdk.Storage;

namespace Stefna.Sdk.Diagnostics;

/// <summary>Thresholds of the Stefna health checks (<c>AddStefnaHealthChecks()</c>); bound from
/// <c>Stefna:HealthChecks</c> when the host binds configuration.</summary>
public sealed class StefnaHealthCheckOptions
{
    /// <summary>The key of these options under the Stefna configuration section: <c>HealthChecks</c>.</summary>
    public const string ConfigurationKey = "HealthChecks";

    /// <summary>The prefix of each type's entry name in the health report: <c>stefna:neo-glitch</c>.</summary>
    public const string NamePrefix = "stefna:";

    /// <summary>The tag every Stefna entry carries (each also carries its type's name): <c>stefna</c>.</summary>
    public const string Tag = "stefna";

    /// <summary>How long the oldest queued job of a type may wait before the type is degraded. Default 5 min.</summary>
    public TimeSpan MaxQueuedAge { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a type's worker loop may go without turning (claiming, or waking from a wait) while it holds no
    /// job before the type is unhealthy. The loop turns at least every <see cref="StefnaOptions.MaxIdlePollInterval"/>
    /// when idle, so only a hung loop gets there. Default 1 min.</summary>
    public TimeSpan MaxWorkerSilence { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>One generation type's health: the store answers for its table, a provider is configured, its circuit is
/// closed, its oldest queued job is not too old, and (where this host runs the worker) its worker loop is alive.</summary>
internal sealed class GenerationTypeHealthCheck(string type, IServiceProvider services) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var options = services.GetRequiredService<IOptions<StefnaHealthCheckOptions>>().Value;
        var time = services.GetRequiredService<TimeProvider>();
        var data = new Dictionary<string, object>(StringComparer.Ordinal) { ["type"] = type };
        var registry = services.GetRequiredService<GenerationTypeRegistry>();
        data["provider"] = registry.TryGetProvider(type, out var provider) && provider is not null ? provider.Name : "none";

        QueueSnapshot snapshot;
        try
        {
            snapshot = await services.GetRequiredService<MediaStoreRouter>().QueueFor(type).GetQueueSnapshotAsync(type, cancellationToken).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Any failure of the store means the type cannot serve: report it rather than throw.
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
#pragma warning restore CA1031
        {
            data["store"] = "unreachable";
            // The exception goes to the health check's log entry, not into the report: its message may name servers.
            return HealthCheckResult.Unhealthy($"{type}: the store did not answer for its table (unreachable, or the schema is not migrated: {ex.GetType().Name}).", ex, data);
        }

        data["store"] = "ok";
        data["queued"] = snapshot.Queued;
        var unhealthy = new List<string>();
        var degraded = new List<string>();
        if (provider is null)
        {
            unhealthy.Add("no image provider is configured");
        }

        if (snapshot.OldestQueuedAt is { } oldest)
        {
            var age = time.GetUtcNow() - oldest;
            data["oldestQueuedSeconds"] = Math.Round(Math.Max(0, age.TotalSeconds), 1);
            if (age > options.MaxQueuedAge)
            {
                degraded.Add($"the oldest queued job has waited {age.TotalSeconds:0} s (limit {options.MaxQueuedAge.TotalSeconds:0} s)");
            }
        }

        var circuit = services.GetRequiredService<CircuitStates>().Get(type);
        data["circuit"] = circuit switch
        {
            CircuitState.Open => "open",
            CircuitState.HalfOpen => "half-open",
            CircuitState.Isolated => "isolated",
            _ => "closed",
        };
        if (circuit is CircuitState.Open or CircuitState.HalfOpen or CircuitState.Isolated)
        {
            degraded.Add($"its provider circuit is {data["circuit"]}: calls are refused until it recovers");
        }

        if (!services.GetRequiredService<IOptions<StefnaOptions>>().Value.RunWorker)
        {
            data["worker"] = "off";
        }
        else if (services.GetRequiredService<GenerationWorker>().GetProducerStatus(type) is not { } producer)
        {
            data["worker"] = "not started";
            degraded.Add("its worker has not started on this host");
        }
        else
        {
            data["inFlight"] = producer.InFlight;
            if (!producer.Running)
            {
                data["worker"] = "stopped";
                unhealthy.Add("its worker loop has stopped");
            }
            else if (producer.InFlight == 0 && producer.SinceLastTurn > options.MaxWorkerSilence)
            {
                data["worker"] = "stalled";
                unhealthy.Add($"its worker loop has not turned for {producer.SinceLastTurn.TotalSeconds:0} s");
            }
            else
            {
                data["worker"] = "running";
            }
        }

        return unhealthy.Count > 0 ? HealthCheckResult.Unhealthy($"{type}: {string.Join("; ", unhealthy.Concat(degraded))}.", data: data)
            : degraded.Count > 0 ? HealthCheckResult.Degraded($"{type}: {string.Join("; ", degraded)}.", data: data)
            : HealthCheckResult.Healthy($"{type}: store answers, circuit closed, worker {data["worker"]}.", data);
    }
}
