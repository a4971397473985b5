using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace Stefna.TestUtils;

/// <summary>
/// A fake clock that jumps ahead to each timer it is asked for: when code waits (<c>Task.Delay(d, clock)</c>, a Polly
/// retry delay), the clock advances by exactly <c>d</c> at once and records <c>d</c> in <see cref="Waits"/>. Waits
/// therefore take no real time and every instant read from the clock is exact, so a test can assert "the retry came
/// exactly when the reset said" without any wall-clock margin.
/// </summary>
/// <param name="start">The starting instant (use a whole second when HTTP dates are involved).</param>
public sealed class JumpingClock(DateTimeOffset start) : FakeTimeProvider(start)
{
    private readonly ConcurrentQueue<TimeSpan> _waits = new();

    /// <summary>Every timer due time asked for, in order.</summary>
    public IReadOnlyList<TimeSpan> Waits => [.. _waits];

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        if (dueTime > TimeSpan.Zero && dueTime != Timeout.InfiniteTimeSpan)
        {
            _waits.Enqueue(dueTime);
            // Off the caller's stack, so the waiter has its timer in hand before it fires.
            _ = Task.Run(() => Advance(dueTime));
        }

        return timer;
    }
}
