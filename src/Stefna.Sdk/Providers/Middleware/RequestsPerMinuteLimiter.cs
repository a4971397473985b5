using System.Threading.RateLimiting;

namespace Stefna.Sdk.Providers.Middleware;

/// <summary>
/// A System.Threading.RateLimiting <see cref="RateLimiter"/> granting at most <see cref="RequestsPerMinute"/> permits in
/// any 60 seconds (an exact sliding log of grant times), on a <see cref="TimeProvider"/>. Calls over the cap wait in a
/// FIFO queue of <c>queueLimit</c>; more are refused with a <see cref="MetadataName.RetryAfter"/> hint.
/// </summary>
/// <remarks>Written here rather than using the in-box <see cref="SlidingWindowRateLimiter"/>: that one measures time with
/// <c>Stopwatch</c> even when replenished by hand, so it cannot follow a <see cref="TimeProvider"/> (tests drive this
/// one with a fake clock), and it approximates the window in segments where a provider's cap is exact.</remarks>
public sealed class RequestsPerMinuteLimiter : RateLimiter
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly int _queueLimit;
    private readonly TimeProvider _time;
    private readonly Queue<DateTimeOffset> _granted = new();
    private readonly LinkedList<Waiter> _waiting = new();
    private readonly ITimer _timer;
    private readonly Lock _lock = new();
    private DateTimeOffset? _idleSince;
    private bool _disposed;

    /// <summary>Creates the limiter.</summary>
    /// <param name="requestsPerMinute">Permits in any 60 seconds (at least 1).</param>
    /// <param name="queueLimit">How many calls may wait for a permit (0 for none).</param>
    /// <param name="time">The clock.</param>
    public RequestsPerMinuteLimiter(int requestsPerMinute, int queueLimit, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(requestsPerMinute, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(queueLimit);
        ArgumentNullException.ThrowIfNull(time);
        RequestsPerMinute = requestsPerMinute;
        _queueLimit = queueLimit;
        _time = time;
        _idleSince = time.GetUtcNow();
        _timer = time.CreateTimer(static state => ((RequestsPerMinuteLimiter)state!).ServeWaiting(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The configured rate.</summary>
    public int RequestsPerMinute { get; }

    /// <inheritdoc />
    public override TimeSpan? IdleDuration
    {
        get
        {
            lock (_lock)
            {
                return _idleSince is { } since ? _time.GetUtcNow() - since : null;
            }
        }
    }

    /// <inheritdoc />
    public override RateLimiterStatistics? GetStatistics()
    {
        lock (_lock)
        {
            Prune(_time.GetUtcNow());
            return new RateLimiterStatistics { CurrentAvailablePermits = RequestsPerMinute - _granted.Count, CurrentQueuedCount = _waiting.Count };
        }
    }

    /// <inheritdoc />
    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        ThrowIfInvalid(permitCount);
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            return _waiting.Count == 0 && TryGrant(now, permitCount) ? Lease.Granted : Refused(now, permitCount);
        }
    }

    /// <inheritdoc />
    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        ThrowIfInvalid(permitCount);
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            if (_waiting.Count == 0 && TryGrant(now, permitCount))
            {
                return ValueTask.FromResult<RateLimitLease>(Lease.Granted);
            }

            if (_waiting.Sum(w => w.Permits) + permitCount > _queueLimit)
            {
                return ValueTask.FromResult<RateLimitLease>(Refused(now, permitCount));
            }

            var waiter = new Waiter(permitCount);
            var node = _waiting.AddLast(waiter);
            waiter.Registration = cancellationToken.Register(() =>
            {
                lock (_lock)
                {
                    if (node.List is not null)
                    {
                        _waiting.Remove(node);
                    }
                }

                waiter.Completion.TrySetCanceled(cancellationToken);
            });
            ScheduleLocked(now);
            return new ValueTask<RateLimitLease>(waiter.Completion.Task);
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (!disposing)
        {
            return;
        }

        List<Waiter> refused;
        lock (_lock)
        {
            _disposed = true;
            refused = [.. _waiting];
            _waiting.Clear();
        }

        _timer.Dispose();
        foreach (var waiter in refused)
        {
            waiter.Registration.Dispose();
            waiter.Completion.TrySetResult(new Lease(false, null));
        }
    }

    /// <summary>Grants the waiting calls whose permits have come free, oldest first; re-arms the timer for the rest.</summary>
    private void ServeWaiting()
    {
        var ready = new List<Waiter>();
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            while (_waiting.First is { } first && TryGrant(now, first.Value.Permits))
            {
                _waiting.RemoveFirst();
                ready.Add(first.Value);
            }

            ScheduleLocked(now);
        }

        foreach (var waiter in ready)
        {
            waiter.Registration.Dispose();
            waiter.Completion.TrySetResult(Lease.Granted);
        }
    }

    private bool TryGrant(DateTimeOffset now, int permits)
    {
        Prune(now);
        if (_disposed || _granted.Count + permits > RequestsPerMinute)
        {
            return false;
        }

        for (var i = 0; i < permits; i++)
        {
            _granted.Enqueue(now);
        }

        _idleSince = null;
        return true;
    }

    private void Prune(DateTimeOffset now)
    {
        while (_granted.TryPeek(out var at) && at + Window <= now)
        {
            _granted.Dequeue();
        }

        if (_granted.Count == 0 && _waiting.Count == 0)
        {
            _idleSince ??= now;
        }
    }

    /// <summary>When the oldest grant leaves the window, a permit comes free: wake then if anyone waits.</summary>
    private void ScheduleLocked(DateTimeOffset now)
    {
        var due = _waiting.Count > 0 && _granted.TryPeek(out var oldest) ? oldest + Window - now : Timeout.InfiniteTimeSpan;
        _timer.Change(due == Timeout.InfiniteTimeSpan || due > TimeSpan.Zero ? due : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }

    private Lease Refused(DateTimeOffset now, int permits)
    {
        Prune(now);
        var free = _granted.Skip(Math.Max(0, _granted.Count + permits - RequestsPerMinute - 1)).FirstOrDefault();
        var retryAfter = free == default ? Window : free + Window - now;
        return new Lease(false, retryAfter < TimeSpan.Zero ? TimeSpan.Zero : retryAfter);
    }

    private void ThrowIfInvalid(int permitCount)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(permitCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(permitCount, RequestsPerMinute);
    }

    private sealed class Waiter(int permits)
    {
        public int Permits { get; } = permits;

        public TaskCompletionSource<RateLimitLease> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationTokenRegistration Registration { get; set; }
    }

    private sealed class Lease(bool acquired, TimeSpan? retryAfter) : RateLimitLease
    {
        public static readonly Lease Granted = new(true, null);

        public override bool IsAcquired { get; } = acquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = metadataName == MetadataName.RetryAfter.Name && retryAfter is { } wait ? wait : null;
            return metadata is not null;
        }
    }
}
