using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Npgsql;
using Stefna.Sdk.Storage;

namespace Stefna.Sdk.Postgres;

/// <summary>
/// One shared LISTEN connection per store. Notifications (payload: the type's name) wake every waiter of that type.
/// A wake-up is sticky: one that arrives while nobody waits for its type (a worker between two waits, still claiming)
/// stays pending and ends the next wait for that type at once, so no notification is lost to that race.
/// The connection is opened on the first wait and re-opened after any failure with a capped back-off; while it is
/// down, waits simply run to their timeout, so workers fall back to polling. After every (re)connect all known types
/// are woken, because notifications sent while nobody listened are lost.
/// The same connection also LISTENs on the status channel (when given): each notification there (payload
/// <c>type:id</c>) goes to the status subscribers (<see cref="IJobStatusSubscriber"/>), who are told after every
/// (re)connect and failure that notifications may have been missed. One connection per store, however many watch.
/// </summary>
internal sealed class NotificationListener(NpgsqlDataSource dataSource, string channel, TimeProvider time, ILogger logger, string? statusChannel = null) : IAsyncDisposable
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan LivenessCheck = TimeSpan.FromSeconds(15);

    // Per type: the signal the next wake-up completes. A completed signal still in the map is a pending wake-up; the
    // wait that sees it completed removes it (consumes it), so the following wait gets a fresh one.
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _signals = new(StringComparer.Ordinal);
    private int _notifications;
    private int _statusNotifications;
    private readonly object _subscribersLock = new();
    private IJobStatusSubscriber[] _subscribers = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _startLock = new();
    private Task? _loop;

    /// <summary>Whether the listening connection is currently up (for tests and health).</summary>
    public bool IsListening { get; private set; }

    /// <summary>How many times the listening connection was (re)opened; counted after the (re)connect's wake-up.</summary>
    public int Connections { get; private set; }

    /// <summary>How many notifications arrived on the listening connection (for tests).</summary>
    public int Notifications => Volatile.Read(ref _notifications);

    /// <summary>How many status notifications arrived on the listening connection (for tests).</summary>
    public int StatusNotifications => Volatile.Read(ref _statusNotifications);

    /// <summary>Adds a status subscriber and starts listening if nobody did yet.</summary>
    /// <returns>Removes the subscriber when disposed.</returns>
    public IDisposable Subscribe(IJobStatusSubscriber subscriber)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        lock (_subscribersLock)
        {
            _subscribers = [.. _subscribers, subscriber];
        }

        EnsureStarted();
        return new Subscription(this, subscriber);
    }

    private sealed class Subscription(NotificationListener listener, IJobStatusSubscriber subscriber) : IDisposable
    {
        public void Dispose()
        {
            lock (listener._subscribersLock)
            {
                listener._subscribers = [.. listener._subscribers.Where(s => s != subscriber)];
            }
        }
    }

    // A status payload is "type:id"; anything else on the channel is not ours and is ignored.
    private void StatusChanged(string payload)
    {
        Interlocked.Increment(ref _statusNotifications);
        var colon = payload.LastIndexOf(':');
        if (colon <= 0 || !Guid.TryParse(payload.AsSpan(colon + 1), out var id))
        {
            return;
        }

        var type = payload[..colon];
        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            subscriber.OnStatusChanged(type, id);
        }
    }

    private void StatusMissed()
    {
        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            subscriber.OnNotificationsMissed();
        }
    }

    /// <summary>Waits until a notification (or a reconnect) wakes one of the types, or the timeout elapses. A wake-up
    /// that arrived since the last wait for the type ends this one at once.</summary>
    /// <returns><see langword="true"/> when woken, <see langword="false"/> at the timeout.</returns>
    public async Task<bool> WaitAsync(IReadOnlyCollection<string> types, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(types);
        EnsureStarted();
        var signals = new KeyValuePair<string, TaskCompletionSource>[types.Count];
        var i = 0;
        foreach (var type in types)
        {
            signals[i++] = new(type, Signal(type));
        }

        if (!Consume(signals))
        {
            var waits = new Task[signals.Length + 1];
            for (i = 0; i < signals.Length; i++)
            {
                waits[i] = signals[i].Value.Task;
            }

            using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            waits[i] = Task.Delay(timeout, time, timer.Token);
            await Task.WhenAny(waits).ConfigureAwait(false);
            await timer.CancelAsync().ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        return Consume(signals);
    }

    // Takes the pending wake-ups among the signals out of the map; true when there was one.
    private bool Consume(KeyValuePair<string, TaskCompletionSource>[] signals)
    {
        var woken = false;
        foreach (var signal in signals)
        {
            if (signal.Value.Task.IsCompleted)
            {
                // Only this very signal: a fresh one another waiter put in its place stays.
                _signals.TryRemove(signal);
                woken = true;
            }
        }

        return woken;
    }

    private TaskCompletionSource Signal(string type) =>
        _signals.GetOrAdd(type, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    // Completes the type's signal, creating it when nobody waits yet, so the wake-up stays pending for the next wait.
    private void Wake(string type) => Signal(type).TrySetResult();

    private void WakeAll()
    {
        foreach (var type in _signals.Keys)
        {
            Wake(type);
        }
    }

    private void EnsureStarted()
    {
        if (_loop is not null)
        {
            return;
        }

        lock (_startLock)
        {
            _loop ??= Task.Run(() => ListenLoopAsync(_stopping.Token));
        }
    }

    private async Task ListenLoopAsync(CancellationToken stoppingToken)
    {
        var backoff = TimeSpan.FromMilliseconds(100);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken).ConfigureAwait(false);
                connection.Notification += (_, e) =>
                {
                    if (statusChannel is not null && e.Channel == statusChannel)
                    {
                        StatusChanged(e.Payload);
                        return;
                    }

                    Interlocked.Increment(ref _notifications);
                    Wake(e.Payload);
                };
                var listenSql = "LISTEN " + PostgresSchema.Identifier(channel) + (statusChannel is null ? string.Empty : "; LISTEN " + PostgresSchema.Identifier(statusChannel));
                await using (var listen = new NpgsqlCommand(listenSql, connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken).ConfigureAwait(false);
                }

                IsListening = true;
                Log.Listening(logger, channel);
                backoff = TimeSpan.FromMilliseconds(100);
                WakeAll();
                StatusMissed();
                Connections++;
                while (!stoppingToken.IsCancellationRequested)
                {
                    if (!await connection.WaitAsync((int)LivenessCheck.TotalMilliseconds, stoppingToken).ConfigureAwait(false))
                    {
                        // Quiet for a while: prove the connection is still alive (a silently dropped one never wakes).
                        await using var ping = new NpgsqlCommand("SELECT 1", connection);
                        await ping.ExecuteScalarAsync(stoppingToken).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                IsListening = false;
                Log.ListenerFailed(logger, ex, backoff);
                WakeAll();
                StatusMissed();
                try
                {
                    await Task.Delay(backoff, time, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }

        IsListening = false;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        Task? loop;
        lock (_startLock)
        {
            loop = _loop;
        }

        if (loop is not null)
        {
            try
            {
                await loop.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Stopping: nothing left to report.
            }
        }

        _stopping.Dispose();
        WakeAll();
        StatusMissed();
    }
}
