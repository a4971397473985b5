using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Diagnostics;
using Stefna.Sdk.Storage;

namespace Stefna.Sdk.Internal;

/// <summary>
/// Where status changes meet the parties that follow them. Changes made on this host (<see cref="Publish"/>) go to the
/// registered <see cref="IGenerationObserver"/>s and wake this host's watchers; changes made anywhere wake them through
/// the store's notifications (<see cref="IJobStatusNotificationSource"/>) when it has them. Watchers of one job (per
/// user) share one <see cref="WatchedJob"/>, so a change costs one store read however many follow it.
/// </summary>
internal sealed class JobWatchHub : IJobStatusSubscriber, IDisposable
{
    private readonly MediaStoreRouter _stores;
    private readonly IGenerationObserver[] _observers;
    private readonly ILogger _logger;
    private readonly object _lock = new();
    private readonly Dictionary<(string Type, Guid Id), List<WatchedJob>> _watched = [];
    private readonly Dictionary<IJobStatusNotificationSource, IDisposable> _subscriptions = new(ReferenceEqualityComparer.Instance);
    private long _reads;

    public JobWatchHub(MediaStoreRouter stores, IEnumerable<IGenerationObserver> observers, TimeProvider time, IOptions<StefnaOptions> options, ILogger<JobWatchHub> logger)
    {
        _stores = stores;
        _observers = [.. observers];
        Time = time;
        PollInterval = options.Value.WatchPollInterval;
        _logger = logger;
    }

    public TimeProvider Time { get; }

    /// <summary>How often a watcher re-reads its job while no store notifications arrive.</summary>
    public TimeSpan PollInterval { get; }

    /// <summary>How many store reads watchers have made (for tests: one per change, not one per watcher).</summary>
    public long Reads => Interlocked.Read(ref _reads);

    /// <summary>How long a watcher of a type's job waits for a wake-up before it reads again: no limit while the type's
    /// store notifies.</summary>
    /// <param name="type">The job's type.</param>
    /// <returns>The wait, or null for none.</returns>
    public TimeSpan? CurrentPollInterval(string type) => SourceFor(type) is { IsListeningForStatusChanges: true } ? null : PollInterval;

    // The status notifications of the type's store (its own store, or the host's default), if it sends them.
    private IJobStatusNotificationSource? SourceFor(string type) => _stores.For(type) as IJobStatusNotificationSource;

    /// <summary>A change stored by this host: tells the observers and wakes this host's watchers of the job.</summary>
    public void Publish(GenerationStatusChange change)
    {
        foreach (var observer in _observers)
        {
            try
            {
                observer.OnStatusChanged(change);
            }
            catch (Exception ex)
            {
                Log.ObserverFailed(_logger, ex, change.Status.ToName(), change.Type, change.Id);
            }
        }

        // A store that notifies tells this host as well (the NOTIFY every host gets): waking here too would cost a second
        // read per change.
        if (SourceFor(change.Type) is not { IsListeningForStatusChanges: true })
        {
            Wake(change.Type, change.Id);
        }
    }

    /// <summary>Registers a watcher of a job before its first read, so no change after that read goes unnoticed.</summary>
    public WatchedJob Subscribe(string type, Guid id, string userId)
    {
        if (SourceFor(type) is { } source)
        {
            lock (_lock)
            {
                if (!_subscriptions.ContainsKey(source))
                {
                    _subscriptions[source] = source.SubscribeToStatusChanges(this);
                }
            }
        }

        lock (_lock)
        {
            if (!_watched.TryGetValue((type, id), out var list))
            {
                _watched[(type, id)] = list = [];
            }

            var watched = list.Find(w => w.UserId == userId);
            if (watched is null)
            {
                list.Add(watched = new WatchedJob(this, type, id, userId));
            }

            watched.Watchers++;
            return watched;
        }
    }

    public void Unsubscribe(WatchedJob watched)
    {
        lock (_lock)
        {
            if (--watched.Watchers > 0 || !_watched.TryGetValue((watched.Type, watched.Id), out var list))
            {
                return;
            }

            list.Remove(watched);
            if (list.Count == 0)
            {
                _watched.Remove((watched.Type, watched.Id));
            }
        }
    }

    /// <summary>How many jobs (per user) are watched right now (for tests).</summary>
    public int WatchedCount
    {
        get
        {
            lock (_lock)
            {
                return _watched.Values.Sum(l => l.Count);
            }
        }
    }

    void IJobStatusSubscriber.OnStatusChanged(string type, Guid id) => Wake(type, id);

    void IJobStatusSubscriber.OnNotificationsMissed()
    {
        WatchedJob[] all;
        lock (_lock)
        {
            all = [.. _watched.Values.SelectMany(l => l)];
        }

        foreach (var watched in all)
        {
            watched.Changed();
        }
    }

    private void Wake(string type, Guid id)
    {
        WatchedJob[] woken;
        lock (_lock)
        {
            if (!_watched.TryGetValue((type, id), out var list))
            {
                return;
            }

            woken = [.. list];
        }

        foreach (var watched in woken)
        {
            watched.Changed();
        }
    }

    internal Task<GenerationJob?> ReadAsync(WatchedJob watched)
    {
        Interlocked.Increment(ref _reads);
        // Shared by every watcher of the job, so no one watcher's cancellation cancels it.
        return _stores.RecordsFor(watched.Type).GetAsync(watched.Type, watched.Id, watched.UserId, CancellationToken.None);
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var subscription in _subscriptions.Values)
            {
                subscription.Dispose();
            }

            _subscriptions.Clear();
        }
    }
}

/// <summary>One job (as one user sees it) that watchers follow: counts the changes announced for it and hands out reads
/// that begin after them, one read per change shared by all its watchers.</summary>
internal sealed class WatchedJob(JobWatchHub hub, string type, Guid id, string userId)
{
    private readonly object _lock = new();
    private long _changes;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WatchRead? _read;

    public string Type => type;

    public Guid Id => id;

    public string UserId => userId;

    /// <summary>Guarded by the hub's lock.</summary>
    internal int Watchers { get; set; }

    /// <summary>A change was announced: reads begun before it are stale, and waiters wake.</summary>
    public void Changed()
    {
        TaskCompletionSource woken;
        lock (_lock)
        {
            _changes++;
            woken = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        woken.TrySetResult();
    }

    /// <summary>A read that began after every change announced so far and after <paramref name="previous"/> (the read the
    /// caller used last): the one in progress when it qualifies, otherwise a new one.</summary>
    public WatchRead Next(WatchRead? previous)
    {
        lock (_lock)
        {
            if (_read is { } current && current.Change == _changes && current != previous && !current.Task.IsFaulted && !current.Task.IsCanceled)
            {
                return current;
            }

            return _read = new WatchRead(_changes, hub.ReadAsync(this));
        }
    }

    /// <summary>Waits until a change is announced after <paramref name="read"/> began, or the poll interval passes.</summary>
    public async Task WaitAsync(WatchRead read, TimeSpan? poll, CancellationToken cancellationToken)
    {
        Task changed;
        lock (_lock)
        {
            if (_changes > read.Change)
            {
                return;
            }

            changed = _changed.Task;
        }

        if (poll is not { } interval)
        {
            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        using var delay = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await Task.WhenAny(changed, Task.Delay(interval, hub.Time, delay.Token)).ConfigureAwait(false);
        await delay.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }
}

/// <summary>One store read of a watched job, and how many changes had been announced when it began.</summary>
internal sealed record WatchRead(long Change, Task<GenerationJob?> Task);
