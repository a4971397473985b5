using System.Collections.Concurrent;

namespace Stefna.Sdk.Internal;

/// <summary>In-process wake-ups: new work for a type, a job finished, a running job to cancel.</summary>
internal sealed class WorkSignals
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _work = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Guid, TaskCompletionSource> _finished = new();
    private readonly ConcurrentDictionary<Guid, CancellationTokenSource> _running = new();

    /// <summary>Whether the store wakes this host's producers itself on every insert (PostgreSQL NOTIFY); in-process
    /// wake-ups for new work are then left out, so one submit wakes a producer once.</summary>
    public bool StoreNotifies { get; set; }

    public void NotifyWork(string type)
    {
        if (StoreNotifies)
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

    public void RegisterRunning(Guid jobId, CancellationTokenSource source) => _running[jobId] = source;

    public void UnregisterRunning(Guid jobId) => _running.TryRemove(jobId, out _);

    public void CancelRunning(Guid jobId)
    {
        if (_running.TryGetValue(jobId, out var source))
        {
            try
            {
                source.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The job finished in the meantime.
            }
        }
    }
}
