using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Stefna.Sdk.Postgres;

/// <summary>
/// One shared LISTEN connection per store. Notifications (payload: the type's name) wake every waiter of that type.
/// The connection is opened on the first wait and re-opened after any failure with a capped back-off; while it is
/// down, waits simply run to their timeout, so workers fall back to polling. After every (re)connect all waiters are
/// woken, because notifications sent while nobody listened are lost.
/// </summary>
internal sealed class NotificationListener(NpgsqlDataSource dataSource, string channel, TimeProvider time, ILogger logger) : IAsyncDisposable
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan LivenessCheck = TimeSpan.FromSeconds(15);

    private readonly ConcurrentDictionary<string, TaskCompletionSource> _signals = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _startLock = new();
    private Task? _loop;

    /// <summary>Whether the listening connection is currently up (for tests and health).</summary>
    public bool IsListening { get; private set; }

    /// <summary>How many times the listening connection was (re)opened.</summary>
    public int Connections { get; private set; }

    public async Task WaitAsync(IReadOnlyCollection<string> types, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(types);
        EnsureStarted();
        var waits = new Task[types.Count + 1];
        var i = 0;
        foreach (var type in types)
        {
            waits[i++] = Signal(type).Task;
        }

        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(timeout, time, timer.Token);
        waits[i] = delay;
        await Task.WhenAny(waits).ConfigureAwait(false);
        await timer.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }

    private TaskCompletionSource Signal(string type) =>
        _signals.GetOrAdd(type, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    private void Wake(string type)
    {
        if (_signals.TryRemove(type, out var signal))
        {
            signal.TrySetResult();
        }
    }

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
                connection.Notification += (_, e) => Wake(e.Payload);
                await using (var listen = new NpgsqlCommand("LISTEN " + PostgresSchema.Identifier(channel), connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken).ConfigureAwait(false);
                }

                IsListening = true;
                Connections++;
                Log.Listening(logger, channel);
                backoff = TimeSpan.FromMilliseconds(100);
                WakeAll();
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
    }
}
