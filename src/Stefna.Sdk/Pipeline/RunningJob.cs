using System.Collections.Concurrent;

namespace Stefna.Sdk.Pipeline;

/// <summary>A job this host holds: its lease (renewed in batches by its type's producer) and the source that stops its
/// attempt (host stopping, user cancel, lease lost). Deliberately small: a host may hold thousands.</summary>
internal sealed class RunningJob(JobLease lease, CancellationTokenSource cancellation, ConcurrentDictionary<Guid, RunningJob> renewed)
{
    public JobLease Lease => lease;

    public CancellationTokenSource Cancellation => cancellation;

    /// <summary>Takes the lease out of the batch renewals (before a hand-back, after the job ended).</summary>
    public void StopRenewing() => renewed.TryRemove(new KeyValuePair<Guid, RunningJob>(lease.Id, this));

    /// <summary>Stops the attempt.</summary>
    public void Cancel()
    {
        try
        {
            cancellation.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The job ended in the meantime.
        }
    }
}
