using Stefna.Sdk.Diagnostics;
using Stefna.Sdk.Storage;

namespace Stefna.Sdk.Pipeline;

public sealed partial class GenerationWorker
{
    // The jobs a producer runs: starting them, cancelling them, renewing their leases in batches, completing them in
    // batches, and freeing their in-flight places when they end.
    private sealed partial class TypeProducer
    {
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
                        IReadOnlyList<JobLease> lost;
                        try
                        {
                            lost = await worker._stores.QueueFor(type).RenewLeasesAsync(type, leases, options.LeaseDuration, timeout.Token).ConfigureAwait(false);
                        }
                        finally
                        {
                            Interlocked.Increment(ref worker._renewCalls);
                        }

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
