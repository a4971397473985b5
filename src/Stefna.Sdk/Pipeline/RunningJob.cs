namespace Stefna.Sdk.Pipeline;

/// <summary>What holds a <see cref="RunningJob"/>: its type's producer.</summary>
internal interface IRunningJobOwner
{
    /// <summary>Takes the job's lease out of the batch renewals.</summary>
    void StopRenewing(RunningJob job);

    /// <summary>The job's attempt has ended (any outcome); its in-flight place is free.</summary>
    void Ended(RunningJob job);

    /// <summary>The job was parked at an asynchronous provider, next due at <paramref name="nextCheckAt"/>.</summary>
    void Parked(DateTimeOffset nextCheckAt);

    /// <summary>Completes the job, lease-guarded, together with other jobs that finish at the same time.</summary>
    /// <returns><see langword="false"/> when the lease was lost.</returns>
    Task<bool> CompleteAsync(JobLease lease, JobResult result);
}

/// <summary>A job this host holds: its lease (renewed in batches by its type's producer) and the source that stops its
/// attempt (host stopping, user cancel, lease lost). Deliberately small: a host may hold thousands.</summary>
internal sealed class RunningJob(JobLease lease, IRunningJobOwner owner)
{
    private readonly CancellationTokenSource _cancellation = new();

    public JobLease Lease => lease;

    /// <summary>Canceled when the attempt must stop.</summary>
    public CancellationToken Token => _cancellation.Token;

    /// <summary>Whether the attempt was told to stop.</summary>
    public bool IsCancellationRequested => _cancellation.IsCancellationRequested;

    /// <summary>Takes the lease out of the batch renewals (before a hand-back, after the job ended).</summary>
    public void StopRenewing() => owner.StopRenewing(this);

    /// <summary>Completes the job through its owner's batch completer.</summary>
    /// <returns><see langword="false"/> when the lease was lost.</returns>
    public Task<bool> CompleteAsync(JobResult result) => owner.CompleteAsync(lease, result);

    /// <summary>Tells the owner the job was parked (its poller wakes in time for the next check).</summary>
    public void Parked(DateTimeOffset nextCheckAt) => owner.Parked(nextCheckAt);

    /// <summary>Stops the attempt.</summary>
    public void Cancel()
    {
        try
        {
            _cancellation.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The job ended in the meantime.
        }
    }

    /// <summary>Reports the end of the attempt to the owner and releases the cancellation source.</summary>
    public void End()
    {
        owner.StopRenewing(this);
        owner.Ended(this);
        _cancellation.Dispose();
    }
}
