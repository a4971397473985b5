using System.Collections.Concurrent;

namespace Stefna.Sdk.Internal;

/// <summary>In-process wake-ups: new work for a type, a job finished, a running job to cancel.</summary>
internal sealed class WorkSignals(MediaStoreRouter stores)
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _work = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Guid, TaskCompletionSource> _finished = new();
    private readonly object _cancelersLock = new();

    // The producers of this host, each able to stop a job it holds. Asked in turn, so no per-job entry is needed here.
    private Func<Guid, bool>[] _cancelers = [];

    public void NotifyWork(string type)
    {
        // A type whose store notifies (PostgreSQL NOTIFY on insert) already wakes this host's producer on every submit;
        // an in-process wake-up as well would make each submit cost two claims.
        if (stores.NotificationsFor(type) is not null)
        {
            return;
        }

        var signal = _work.GetOrAdd(type, _ => new SemaphoreSlim(0));
        if (signal.CurrentCount == 0)
        {
            signal.Release();
        }
    }

    public Task<bool> WaitForWorkAsync(string type, TimeSpan timeout, CancellationToken cancellationToken) =>
        _work.GetOrAdd(type, _ => new SemaphoreSlim(0)).WaitAsync(timeout, cancellationToken);

    public Task FinishedTask(Guid jobId) =>
        _finished.GetOrAdd(jobId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void NotifyFinished(Guid jobId)
    {
        if (_finished.TryRemove(jobId, out var source))
        {
            source.TrySetResult();
        }
    }

    public void ForgetFinished(Guid jobId) => _finished.TryRemove(jobId, out _);

    /// <summary>Adds a holder of running jobs that <see cref="CancelRunning"/> asks.</summary>
    public void AddCanceler(Func<Guid, bool> canceler)
    {
        lock (_cancelersLock)
        {
            _cancelers = [.. _cancelers, canceler];
        }
    }

    /// <summary>Removes a holder added by <see cref="AddCanceler"/>.</summary>
    public void RemoveCanceler(Func<Guid, bool> canceler)
    {
        lock (_cancelersLock)
        {
            _cancelers = [.. _cancelers.Where(c => c != canceler)];
        }
    }

    /// <summary>Stops the attempt of a job this host runs, if it runs one.</summary>
    public void CancelRunning(Guid jobId)
    {
        foreach (var canceler in Volatile.Read(ref _cancelers))
        {
            if (canceler(jobId))
            {
                return;
            }
        }
    }
}
