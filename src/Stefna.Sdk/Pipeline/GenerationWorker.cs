using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Diagnostics;
using Stefna.Sdk.Internal;
using Stefna.Sdk.Storage;

namespace Stefna.Sdk.Pipeline;

/// <summary>
/// Claims and runs jobs. Per registered type, one producer claims up to the type's free in-flight capacity
/// (<see cref="GenerationTypeOptions.MaxInFlight"/>) in one store call, runs each job as a task, and claims again when
/// jobs finish or a wake-up arrives; one renewal loop per type extends every lease the host holds in one store call.
/// A slow or failing type never takes another type's capacity. Runs in-process as a hosted service by default; any
/// number of hosts may run it against one shared store.
/// </summary>
public sealed partial class GenerationWorker
{
    private readonly GenerationTypeRegistry _registry;
    private readonly StefnaInitializer _initializer;
    private readonly MediaStoreRouter _stores;
    private readonly JobRunner _runner;
    private readonly WorkSignals _signals;
    private readonly JobWatchHub _watchers;
    private readonly TimeProvider _time;
    private readonly StefnaOptions _options;
    private readonly IOptionsMonitor<GenerationTypeOptions> _typeOptions;
    private readonly ILogger<GenerationWorker> _logger;
    private readonly SemaphoreSlim _claimGate;
    private long _completedRuns;
    private long _claimCalls;
    private long _renewCalls;
    private long _parkedClaimCalls;
    private long _parkedRuns;
    private long _inFlight;

    // Each type's producer on this host, for health checks: whether its loop runs and when it last turned.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ProducerStatus> _producers = new(StringComparer.Ordinal);

    internal GenerationWorker(
        GenerationTypeRegistry registry,
        StefnaInitializer initializer,
        MediaStoreRouter stores,
        JobRunner runner,
        WorkSignals signals,
        JobWatchHub watchers,
        TimeProvider time,
        IOptions<StefnaOptions> options,
        IOptionsMonitor<GenerationTypeOptions> typeOptions,
        ILogger<GenerationWorker> logger)
    {
        _registry = registry;
        _initializer = initializer;
        _stores = stores;
        _runner = runner;
        _signals = signals;
        _watchers = watchers;
        _time = time;
        _options = options.Value;
        _typeOptions = typeOptions;
        _logger = logger;
        _claimGate = new SemaphoreSlim(_options.MaxConcurrentClaims, _options.MaxConcurrentClaims);
    }

    /// <summary>How many job attempts this worker has run to an end (completed, failed, requeued, parked or discarded).</summary>
    public long CompletedRuns => Interlocked.Read(ref _completedRuns);

    /// <summary>How many claim calls this worker has made to the store, across types (each claims a batch). A call is
    /// counted once the store answered it (or it failed), before its jobs start.</summary>
    public long ClaimCalls => Interlocked.Read(ref _claimCalls);

    /// <summary>How many lease-renewal calls this worker has made to the store, across types (each renews a batch). A call
    /// is counted once the store answered it (or it failed), before the leases it found lost are acted on.</summary>
    public long RenewCalls => Interlocked.Read(ref _renewCalls);

    /// <summary>How many calls this worker has made to take due parked jobs, across types (each takes a batch). A call is
    /// counted once the store answered it (or it failed), before its jobs resume.</summary>
    public long ParkedClaimCalls => Interlocked.Read(ref _parkedClaimCalls);

    /// <summary>How many job attempts of this worker ended by parking their job at an asynchronous provider.</summary>
    public long ParkedRuns => Interlocked.Read(ref _parkedRuns);

    /// <summary>How many jobs this worker holds right now, across types (claimed and not yet finished).</summary>
    public long InFlight => Interlocked.Read(ref _inFlight);

    /// <summary>The state of one type's producer on this host, or <see langword="null"/> when this worker never ran it.</summary>
    internal ProducerStatus? GetProducerStatus(string type) => _producers.TryGetValue(type, out var status) ? status : null;

    /// <summary>Runs the worker until canceled, or (with <paramref name="exitWhenIdle"/>) until no type has unfinished jobs.</summary>
    /// <param name="exitWhenIdle">Return once every type's queue is empty and nothing is running anywhere.</param>
    /// <param name="cancellationToken">Stops the worker; running jobs are handed back to the queue.</param>
    /// <returns>A task that completes when the worker stops and its jobs have ended.</returns>
    public async Task RunAsync(bool exitWhenIdle, CancellationToken cancellationToken)
    {
        await _initializer.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        Log.WorkerStarted(_logger, string.Join(", ", _registry.Names));
        await Task.WhenAll(_registry.Names.Select(type => new TypeProducer(this, type).RunAsync(exitWhenIdle, cancellationToken))).ConfigureAwait(false);
    }

    /// <summary>One type's producer on this host: claims in batches up to the free in-flight capacity, runs each job as
    /// a task, and renews the leases of all its running jobs in one store call per renewal period.</summary>
    private sealed partial class TypeProducer(GenerationWorker worker, string type) : IRunningJobOwner
    {
        private static readonly TimeSpan FirstErrorDelay = TimeSpan.FromMilliseconds(200);
        private static readonly TimeSpan MaxErrorDelay = TimeSpan.FromSeconds(5);
        private const int MaxCompletionBatch = 500;

        private readonly int _limit = worker._typeOptions.Get(type).MaxInFlight;
        private readonly int? _maxOutstanding = worker._typeOptions.Get(type).MaxOutstanding;
        private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, RunningJob> _running = new();

        // Released (at most to 1) when a job ends: capacity came free.
        private readonly SemaphoreSlim _finished = new(0, 1);

        // Wakes the parked-job poller: a job parked here is due sooner than it planned to look, or capacity came free
        // while it waited for some.
        private readonly SemaphoreSlim _pollerWake = new(0, 1);
        private long _localNextCheck = long.MaxValue;
        private int _pollerWantsCapacity;

        // The batch completer's queue: jobs that finish while a batch is being written go together in the next one.
        private readonly Channel<PendingCompletion> _completions = Channel.CreateUnbounded<PendingCompletion>(new UnboundedChannelOptions { SingleReader = true });
        private int _inFlight;

        private readonly ProducerStatus _status = worker._producers[type] = new ProducerStatus(worker._time);

        public async Task RunAsync(bool exitWhenIdle, CancellationToken cancellationToken)
        {
            _status.Started(() => Volatile.Read(ref _inFlight));
            try
            {
                await RunCoreAsync(exitWhenIdle, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _status.Stopped();
            }
        }

        private async Task RunCoreAsync(bool exitWhenIdle, CancellationToken cancellationToken)
        {
            await Task.Yield();
            using var renewing = new CancellationTokenSource();
            var renewals = RenewLoopAsync(renewing.Token);
            var completer = CompleteLoopAsync();
            Func<Guid, bool> cancel = Cancel;
            worker._signals.AddCanceler(cancel);

            // Each job has its own small cancellation source; stopping the host cancels them all from here, rather than
            // linking every job's source to the host's token.
            using var stopping = cancellationToken.Register(static state => ((TypeProducer)state!).CancelAll(), this);
            using var polling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var poller = PollParkedAsync(polling.Token, cancellationToken);
            try
            {
                await ProduceAsync(exitWhenIdle, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Stopping: the running jobs see the same token and hand themselves back.
            }
            finally
            {
                // The poller stops taking parked jobs first, so none starts after the wait below.
                await polling.CancelAsync().ConfigureAwait(false);
                await poller.ConfigureAwait(false);

                // Leases stay renewed until the last job has ended (a job handing itself back stops its own renewals).
                while (Volatile.Read(ref _inFlight) > 0)
                {
                    await _finished.WaitAsync(CancellationToken.None).ConfigureAwait(false);
                }

                worker._signals.RemoveCanceler(cancel);
                _completions.Writer.Complete();
                await completer.ConfigureAwait(false);
                await renewing.CancelAsync().ConfigureAwait(false);
                await renewals.ConfigureAwait(false);
            }
        }

        private async Task ProduceAsync(bool exitWhenIdle, CancellationToken cancellationToken)
        {
            var options = worker._options;
            var idleDelay = options.IdlePollInterval;
            var errorDelay = FirstErrorDelay;
            var lastClaim = long.MinValue;

            // Whether a claim may find work: at start, after a wake-up or poll, and while the last claim filled its batch.
            var mayHaveWork = true;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                _status.Turned();
                var free = _limit - Volatile.Read(ref _inFlight);
                if (mayHaveWork && free > 0)
                {
                    // Coalesce: wake-ups and finished jobs within the cooldown of the last claim make one claim.
                    if (lastClaim != long.MinValue)
                    {
                        var wait = options.FetchCooldown - worker._time.GetElapsedTime(lastClaim);
                        if (wait > TimeSpan.Zero)
                        {
                            await Task.Delay(wait, worker._time, cancellationToken).ConfigureAwait(false);
                            free = _limit - Volatile.Read(ref _inFlight);
                        }
                    }

                    IReadOnlyList<JobLease> leases;
                    lastClaim = worker._time.GetTimestamp();
                    try
                    {
                        leases = await ClaimAsync(free, cancellationToken).ConfigureAwait(false);
                        errorDelay = FirstErrorDelay;

                        // Jobs the claim failed for good (their lease expired after the last attempt): what their attempts
                        // stored is referenced by nothing.
                        if (worker._stores.QueueFor(type).TakeExhaustedJobs() is { Count: > 0 } exhausted)
                        {
                            await worker._runner.DeleteResultsOfAsync(exhausted).ConfigureAwait(false);
                        }
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                    {
                        errorDelay = await BackOffAsync(ex, errorDelay, cancellationToken).ConfigureAwait(false);
                        continue;
                    }

                    foreach (var lease in leases)
                    {
                        // Told before the job starts, so an observer never hears of its end before its claim.
                        worker._watchers.Publish(new GenerationStatusChange
                        {
                            Type = type, Id = lease.Id, UserId = lease.Job.UserId, Status = GenerationStatus.Processing, Attempt = lease.Attempt,
                            Error = lease.Job.Error, OccurredAt = worker._time.GetUtcNow(),
                        });
                        Start(lease, cancellationToken);
                    }

                    // A full batch may have left more behind; a short one emptied the queue (as of now).
                    mayHaveWork = leases.Count == free;
                    if (leases.Count > 0)
                    {
                        idleDelay = options.IdlePollInterval;
                        continue;
                    }

                    // Unfinished jobs include those running here and on other hosts, so the worker exits only when all end.
                    if (exitWhenIdle && Volatile.Read(ref _inFlight) == 0 && await IsIdleAsync(cancellationToken).ConfigureAwait(false))
                    {
                        return;
                    }
                }

                if (mayHaveWork)
                {
                    // At capacity: the next claim waits for a job to end.
                    await _finished.WaitAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }

                // Nothing claimable: wait for a wake-up or the poll, backing off while nothing turns up. An exiting worker
                // also wakes when one of its jobs ends, to see whether everything is done.
                // With a limit of jobs outstanding at the provider, a job ending here may have made room for a claim.
                var woken = await WaitForWorkAsync(idleDelay, exitWhenIdle || _maxOutstanding is not null, cancellationToken).ConfigureAwait(false);
                mayHaveWork = true;
                if (!woken)
                {
                    idleDelay = TimeSpan.FromTicks(Math.Min(idleDelay.Ticks * 2, options.MaxIdlePollInterval.Ticks));
                }
            }
        }

        private Task<IReadOnlyList<JobLease>> ClaimAsync(int limit, CancellationToken cancellationToken)
        {
            var options = worker._options;
            return GatedAsync(() => Interlocked.Increment(ref worker._claimCalls), ct => worker._stores.QueueFor(type).ClaimAsync(type, limit, options.LeaseDuration, options.MaxAttempts, _maxOutstanding, ct), cancellationToken);
        }

        // A claim-like store call under the host's claim gate (MaxConcurrentClaims), counted once the store answered (or
        // failed), before the caller acts on the answer: whoever sees the count sees a call whose jobs are already taken.
        private async Task<T> GatedAsync<T>(Action answered, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
        {
            var gate = worker._claimGate;
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return await call(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
                answered();
            }
        }

        // Logs a failed store call of a loop and waits before the next, doubling the wait up to its cap.
        private async Task<TimeSpan> BackOffAsync(Exception exception, TimeSpan delay, CancellationToken cancellationToken)
        {
            Log.LoopError(worker._logger, exception, type, delay);
            await Task.Delay(delay, worker._time, cancellationToken).ConfigureAwait(false);
            return TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxErrorDelay.Ticks));
        }

        private async Task<bool> IsIdleAsync(CancellationToken cancellationToken)
        {
            try
            {
                return await worker._stores.QueueFor(type).CountUnfinishedAsync(type, cancellationToken).ConfigureAwait(false) == 0;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                return false;
            }
        }

        private async Task<bool> WaitForWorkAsync(TimeSpan timeout, bool orJobEnd, CancellationToken cancellationToken)
        {
            // The timeout runs on the worker's clock (a fake one in tests); the wake-up sources wait without their own.
            using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var poll = Task.Delay(timeout, worker._time, either.Token);
            var local = worker._signals.WaitForWorkAsync(type, Timeout.InfiniteTimeSpan, either.Token);
            var remote = worker._stores.NotificationsFor(type)?.WaitForWorkAsync([type], Timeout.InfiniteTimeSpan, either.Token);
            var ended = orJobEnd ? _finished.WaitAsync(either.Token) : null;
            Task[] waits = (remote, ended) switch
            {
                (null, null) => [poll, local],
                (null, { } e) => [poll, local, e],
                ({ } r, null) => [poll, local, r],
                ({ } r, { } e) => [poll, local, r, e],
            };
            await Task.WhenAny(waits).ConfigureAwait(false);

            // Cancel the waits that did not end, so none of them later swallows a wake-up meant for the next wait.
            await either.CancelAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            return Woken(local) || (remote is not null && Woken(remote)) || ended?.IsCompletedSuccessfully == true;

            static bool Woken(Task<bool> wait) => wait.IsCompletedSuccessfully && wait.Result;
        }
    }
}
