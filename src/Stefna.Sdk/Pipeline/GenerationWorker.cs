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
public sealed class GenerationWorker
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

    /// <summary>How many claim calls this worker has made to the store, across types (each claims a batch).</summary>
    public long ClaimCalls => Interlocked.Read(ref _claimCalls);

    /// <summary>How many lease-renewal calls this worker has made to the store, across types (each renews a batch).</summary>
    public long RenewCalls => Interlocked.Read(ref _renewCalls);

    /// <summary>How many calls this worker has made to take due parked jobs, across types (each takes a batch).</summary>
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
    private sealed class TypeProducer(GenerationWorker worker, string type) : IRunningJobOwner
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

        public void StopRenewing(RunningJob job) => _running.TryRemove(new KeyValuePair<Guid, RunningJob>(job.Lease.Id, job));

        public void Ended(RunningJob job)
        {
            Interlocked.Increment(ref worker._completedRuns);
            Interlocked.Decrement(ref worker._inFlight);
            Interlocked.Decrement(ref _inFlight);
            Release(_finished);
            if (Volatile.Read(ref _pollerWantsCapacity) != 0)
            {
                Release(_pollerWake);
            }
        }

        public void Parked(DateTimeOffset nextCheckAt)
        {
            Interlocked.Increment(ref worker._parkedRuns);
            var ticks = nextCheckAt.UtcTicks;
            long current;
            do
            {
                current = Volatile.Read(ref _localNextCheck);
                if (ticks >= current)
                {
                    return;
                }
            }
            while (Interlocked.CompareExchange(ref _localNextCheck, ticks, current) != current);
            Release(_pollerWake);
        }

        public Task<bool> CompleteAsync(JobLease lease, JobResult result)
        {
            var pending = new PendingCompletion(new JobCompletion(lease, result));
            if (!_completions.Writer.TryWrite(pending))
            {
                // Not expected: the queue closes only after the last job ended.
                return worker._stores.QueueFor(lease.Type).CompleteAsync(lease, result, CancellationToken.None);
            }

            return pending.Task;
        }

        private async Task CompleteLoopAsync()
        {
            await Task.Yield();
            var reader = _completions.Reader;
            var batch = new List<PendingCompletion>();
            var completions = new List<JobCompletion>();
            while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                batch.Clear();
                completions.Clear();
                while (batch.Count < MaxCompletionBatch && reader.TryRead(out var pending))
                {
                    batch.Add(pending);
                    completions.Add(pending.Completion);
                }

                try
                {
                    // Not canceled by the host stopping: a result already stored is worth recording.
                    var lost = await worker._stores.QueueFor(type).CompleteManyAsync(type, completions, CancellationToken.None).ConfigureAwait(false);
                    foreach (var pending in batch)
                    {
                        pending.TrySetResult(lost.Count == 0 || !lost.Contains(pending.Completion.Lease));
                    }
                }
                catch (Exception ex)
                {
                    // Each job handles the failure as its own (a storage failure: retried or failed by the runner).
                    foreach (var pending in batch)
                    {
                        pending.TrySetException(ex);
                    }
                }
            }
        }

        private bool Cancel(Guid jobId)
        {
            if (!_running.TryGetValue(jobId, out var job))
            {
                return false;
            }

            job.Cancel();
            return true;
        }

        private void CancelAll()
        {
            foreach (var job in _running.Values)
            {
                job.Cancel();
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

        /// <summary>The type's parked-job poller on this host: takes parked jobs whose next check has come, in batches up
        /// to the free in-flight capacity, and runs each as a job (which polls the provider and completes it, or parks it
        /// again). Between looks it sleeps until the earliest parked job of the type is due (as the store said, or as a
        /// job parked here since said), looking at least every <see cref="StefnaOptions.MaxIdlePollInterval"/> for jobs
        /// other hosts parked. No parked job holds anything in memory here.</summary>
        private async Task PollParkedAsync(CancellationToken cancellationToken, CancellationToken stoppingToken)
        {
            await Task.Yield();
            if (worker._stores.ParkingFor(type) is not { } store)
            {
                return;
            }

            var options = worker._options;
            var errorDelay = FirstErrorDelay;
            try
            {
                while (true)
                {
                    var free = _limit - Volatile.Read(ref _inFlight);
                    if (free <= 0)
                    {
                        Volatile.Write(ref _pollerWantsCapacity, 1);
                        if (_limit - Volatile.Read(ref _inFlight) <= 0)
                        {
                            await _pollerWake.WaitAsync(cancellationToken).ConfigureAwait(false);
                        }

                        Volatile.Write(ref _pollerWantsCapacity, 0);
                        continue;
                    }

                    // The store's answer covers every parked job, this host's included, so forget what was noted so far.
                    Volatile.Write(ref _localNextCheck, long.MaxValue);
                    ParkedClaim claim;
                    try
                    {
                        claim = await GatedAsync(ref worker._parkedClaimCalls, ct => store.ClaimParkedAsync(type, free, options.LeaseDuration, ct), cancellationToken).ConfigureAwait(false);
                        errorDelay = FirstErrorDelay;
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                    {
                        errorDelay = await BackOffAsync(ex, errorDelay, cancellationToken).ConfigureAwait(false);
                        continue;
                    }

                    foreach (var lease in claim.Leases)
                    {
                        Start(lease, stoppingToken);
                    }

                    if (claim.Leases.Count == free)
                    {
                        // A full batch may have left due jobs behind.
                        continue;
                    }

                    await SleepUntilDueAsync(claim.NextCheckAt, options.MaxIdlePollInterval, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The producer stopped.
            }
        }

        private async Task SleepUntilDueAsync(DateTimeOffset? storeNext, TimeSpan longest, CancellationToken cancellationToken)
        {
            var time = worker._time;
            var latest = time.GetUtcNow() + longest;
            while (true)
            {
                var due = storeNext is { } next && next < latest ? next : latest;
                var local = Volatile.Read(ref _localNextCheck);
                if (local < due.UtcTicks)
                {
                    due = new DateTimeOffset(local, TimeSpan.Zero);
                }

                var wait = due - time.GetUtcNow();
                if (wait <= TimeSpan.Zero)
                {
                    return;
                }

                // Woken early when a job parked here is due sooner; then wait again for the new time.
                using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var delay = Task.Delay(wait, time, either.Token);
                var woken = _pollerWake.WaitAsync(either.Token);
                await Task.WhenAny(delay, woken).ConfigureAwait(false);
                await either.CancelAsync().ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                if (delay.IsCompletedSuccessfully && !woken.IsCompletedSuccessfully)
                {
                    return;
                }
            }
        }

        private Task<IReadOnlyList<JobLease>> ClaimAsync(int limit, CancellationToken cancellationToken)
        {
            var options = worker._options;
            return GatedAsync(ref worker._claimCalls, ct => worker._stores.QueueFor(type).ClaimAsync(type, limit, options.LeaseDuration, options.MaxAttempts, _maxOutstanding, ct), cancellationToken);
        }

        // A claim-like store call under the host's claim gate (MaxConcurrentClaims), counted.
        private Task<T> GatedAsync<T>(ref long counter, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref counter);
            return Run(worker._claimGate, call, cancellationToken);

            static async Task<T> Run(SemaphoreSlim gate, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
            {
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    return await call(cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    gate.Release();
                }
            }
        }

        // Logs a failed store call of a loop and waits before the next, doubling the wait up to its cap.
        private async Task<TimeSpan> BackOffAsync(Exception exception, TimeSpan delay, CancellationToken cancellationToken)
        {
            Log.LoopError(worker._logger, exception, type, delay);
            await Task.Delay(delay, worker._time, cancellationToken).ConfigureAwait(false);
            return TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxErrorDelay.Ticks));
        }

        private void Start(JobLease lease, CancellationToken stoppingToken)
        {
            Interlocked.Increment(ref _inFlight);
            Interlocked.Increment(ref worker._inFlight);
            var job = new RunningJob(lease, this);
            _running[lease.Id] = job;

            // Stopping registers before it cancels what it sees: a job added after that sees the token instead.
            if (stoppingToken.IsCancellationRequested)
            {
                job.Cancel();
            }

            _ = worker._runner.RunAsync(job, stoppingToken);
        }

        private async Task RenewLoopAsync(CancellationToken cancellationToken)
        {
            var options = worker._options;
            var period = TimeSpan.FromTicks(options.LeaseDuration.Ticks / 3);
            using var timer = new PeriodicTimer(period, worker._time);
            try
            {
                while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (_running.IsEmpty)
                    {
                        continue;
                    }

                    var leases = new List<JobLease>(_running.Count);
                    foreach (var running in _running.Values)
                    {
                        leases.Add(running.Lease);
                    }

                    try
                    {
                        // Bounded by the period, so a renewal that hangs gives way to the next tick's; the lease outlives
                        // two missed renewals. Awaited, so renewals of a type never pile up.
                        using var elapsed = new CancellationTokenSource(period, worker._time);
                        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, elapsed.Token);
                        Interlocked.Increment(ref worker._renewCalls);
                        var lost = await worker._stores.QueueFor(type).RenewLeasesAsync(type, leases, options.LeaseDuration, timeout.Token).ConfigureAwait(false);
                        foreach (var lease in lost)
                        {
                            // Only the attempt that was lost: the same job may run again here under a newer lease.
                            if (_running.TryGetValue(lease.Id, out var running) && running.Lease.Attempt == lease.Attempt)
                            {
                                Log.LeaseLost(worker._logger, type, lease.Id, lease.Attempt);
                                running.Cancel();
                            }
                        }
                    }
                    catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                    {
                        Log.RenewalFailed(worker._logger, ex, type, leases.Count);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The producer stopped and its last job ended.
            }
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

        private static void Release(SemaphoreSlim signal)
        {
            try
            {
                signal.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already signalled.
            }
        }

        /// <summary>A job waiting in the batch completer's queue.</summary>
        private sealed class PendingCompletion(JobCompletion completion) : TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously)
        {
            public JobCompletion Completion => completion;
        }
    }
}

/// <summary>One type's producer as a health check sees it: running or not, when its loop last turned, how many jobs it holds.</summary>
internal sealed class ProducerStatus(TimeProvider time)
{
    private long _lastTurn = time.GetTimestamp();
    private int _running;
    private Func<int> _inFlight = static () => 0;

    /// <summary>Whether the producer's loop is running.</summary>
    public bool Running => Volatile.Read(ref _running) == 1;

    /// <summary>How many jobs the producer holds.</summary>
    public int InFlight => _inFlight();

    /// <summary>How long ago the loop last turned (claimed, or woke from a wait).</summary>
    public TimeSpan SinceLastTurn => time.GetElapsedTime(Interlocked.Read(ref _lastTurn));

    internal void Started(Func<int> inFlight)
    {
        _inFlight = inFlight;
        Turned();
        Volatile.Write(ref _running, 1);
    }

    internal void Turned() => Interlocked.Exchange(ref _lastTurn, time.GetTimestamp());

    internal void Stopped() => Volatile.Write(ref _running, 0);
}
