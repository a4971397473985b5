using Stefna.Sdk.Configuration;
using Stefna.Sdk.Storage;

namespace Stefna.Sdk.Pipeline;

public sealed partial class GenerationWorker
{
    // Parked jobs: the poller that resumes them when due, and the note a job parked here leaves for it.
    private sealed partial class TypeProducer
    {
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
                        claim = await GatedAsync(() => Interlocked.Increment(ref worker._parkedClaimCalls), ct => store.ClaimParkedAsync(type, free, options.LeaseDuration, ct), cancellationToken).ConfigureAwait(false);
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

                // The clock may have passed the due time between reading it and setting the timer (a jump of the clock,
                // or a fake one moved meanwhile): the timer would then fire a whole wait late. It is due now.
                if (time.GetUtcNow() >= due)
                {
                    await either.CancelAsync().ConfigureAwait(false);
                    return;
                }

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
    }
}
