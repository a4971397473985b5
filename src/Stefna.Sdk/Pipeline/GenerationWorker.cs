using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Diagnostics;
using Stefna.Sdk.Internal;
using Stefna.Sdk.Storage;

namespace Stefna.Sdk.Pipeline;

/// <summary>
/// Claims and runs jobs: one loop per registered type, each with its own concurrency limit, so a slow or failing
/// type never takes another type's slots. Runs in-process as a hosted service by default; any number of hosts may
/// run it against one shared store.
/// </summary>
public sealed class GenerationWorker
{
    private readonly GenerationTypeRegistry _registry;
    private readonly StefnaInitializer _initializer;
    private readonly IMediaStore _store;
    private readonly JobRunner _runner;
    private readonly WorkSignals _signals;
    private readonly IJobNotificationSource? _notifications;
    private readonly TimeProvider _time;
    private readonly StefnaOptions _options;
    private readonly IOptionsMonitor<GenerationTypeOptions> _typeOptions;
    private readonly ILogger<GenerationWorker> _logger;
    private long _completedRuns;

    internal GenerationWorker(
        GenerationTypeRegistry registry,
        StefnaInitializer initializer,
        IMediaStore store,
        JobRunner runner,
        WorkSignals signals,
        IEnumerable<IJobNotificationSource> notifications,
        TimeProvider time,
        IOptions<StefnaOptions> options,
        IOptionsMonitor<GenerationTypeOptions> typeOptions,
        ILogger<GenerationWorker> logger)
    {
        _registry = registry;
        _initializer = initializer;
        _store = store;
        _runner = runner;
        _signals = signals;
        _notifications = notifications.FirstOrDefault();
        _time = time;
        _options = options.Value;
        _typeOptions = typeOptions;
        _logger = logger;
    }

    /// <summary>How many job attempts this worker has run to an end (completed, failed, requeued or discarded).</summary>
    public long CompletedRuns => Interlocked.Read(ref _completedRuns);

    /// <summary>Runs the worker until canceled, or (with <paramref name="exitWhenIdle"/>) until no type has unfinished jobs.</summary>
    /// <param name="exitWhenIdle">Return once every type's queue is empty and nothing is running anywhere.</param>
    /// <param name="cancellationToken">Stops the worker; running jobs are handed back to the queue.</param>
    /// <returns>A task that completes when the worker stops.</returns>
    public async Task RunAsync(bool exitWhenIdle, CancellationToken cancellationToken)
    {
        await _initializer.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        Log.WorkerStarted(_logger, string.Join(", ", _registry.Names));
        await Task.WhenAll(_registry.Names.Select(type => RunTypeAsync(type, exitWhenIdle, cancellationToken))).ConfigureAwait(false);
    }

    private async Task RunTypeAsync(string type, bool exitWhenIdle, CancellationToken cancellationToken)
    {
        // Each type's slots run on their own tasks, so one type's slow store call never delays another's. Each slot
        // claims and runs one job at a time, so a type never runs more than MaxConcurrency jobs on this host, and
        // claims happen in parallel rather than one after another (a serial claim loop caps a host's throughput at
        // one claim per database round trip).
        await Task.Yield();
        var slots = _typeOptions.Get(type).MaxConcurrency;
        await Task.WhenAll(Enumerable.Range(0, slots).Select(_ => RunSlotAsync(type, exitWhenIdle, cancellationToken))).ConfigureAwait(false);
    }

    private async Task RunSlotAsync(string type, bool exitWhenIdle, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var errorDelay = TimeSpan.FromMilliseconds(200);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                JobLease? lease;
                try
                {
                    lease = await _store.ClaimNextAsync(type, _options.LeaseDuration, _options.MaxAttempts, cancellationToken).ConfigureAwait(false);
                    errorDelay = TimeSpan.FromMilliseconds(200);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    Log.LoopError(_logger, ex, type, errorDelay);
                    await Task.Delay(errorDelay, _time, cancellationToken).ConfigureAwait(false);
                    errorDelay = TimeSpan.FromTicks(Math.Min(errorDelay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
                    continue;
                }

                if (lease is null)
                {
                    // Unfinished jobs include those other slots (and hosts) are running, so every slot exits together.
                    if (exitWhenIdle && await IsIdleAsync(type, cancellationToken).ConfigureAwait(false))
                    {
                        return;
                    }

                    await WaitForWorkAsync(type, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                // There may be more: wake a sibling slot that is waiting (in-process wake-ups release one waiter).
                _signals.NotifyWork(type);
                await RunOneAsync(lease, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task RunOneAsync(JobLease lease, CancellationToken cancellationToken)
    {
        try
        {
            await _runner.RunAsync(lease, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.Unexpected(_logger, ex, lease.Type, lease.Id);
        }
        finally
        {
            Interlocked.Increment(ref _completedRuns);
        }
    }

    private async Task<bool> IsIdleAsync(string type, CancellationToken cancellationToken)
    {
        try
        {
            return await _store.CountUnfinishedAsync(type, cancellationToken).ConfigureAwait(false) == 0;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return false;
        }
    }

    private async Task WaitForWorkAsync(string type, CancellationToken cancellationToken)
    {
        var local = _signals.WaitForWorkAsync(type, _options.IdlePollInterval, cancellationToken);
        if (_notifications is null)
        {
            await local.ConfigureAwait(false);
            return;
        }

        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var remote = _notifications.WaitForWorkAsync([type], _options.IdlePollInterval, either.Token);
        await Task.WhenAny(local, remote).ConfigureAwait(false);
        await either.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }
}
