using Stefna.Sdk.Imaging;

namespace Stefna.TestUtils;

/// <summary>An instrumented budget: counts what its callers hold (from the moment a reservation is handed out until
/// it is given back), independently of the budget it wraps, and the peak of that.</summary>
public sealed class CountingBudget(IImageMemoryBudget inner) : IImageMemoryBudget
{
    private long _held;
    private long _peak;
    private int _reservations;
    private long _largest;

    public long CapacityBytes => inner.CapacityBytes;

    public long HeldBytes => Interlocked.Read(ref _held);

    public long PeakHeldBytes => Interlocked.Read(ref _peak);

    public int Reservations => Volatile.Read(ref _reservations);

    /// <summary>The largest single reservation handed out.</summary>
    public long LargestReservationBytes => Interlocked.Read(ref _largest);

    public async ValueTask<IDisposable> ReserveAsync(long bytes, CancellationToken cancellationToken)
    {
        var reservation = await inner.ReserveAsync(bytes, cancellationToken);
        Interlocked.Increment(ref _reservations);
        for (var largest = Interlocked.Read(ref _largest); bytes > largest; largest = Interlocked.Read(ref _largest))
        {
            Interlocked.CompareExchange(ref _largest, bytes, largest);
        }

        var now = Interlocked.Add(ref _held, bytes);
        for (var peak = Interlocked.Read(ref _peak); now > peak; peak = Interlocked.Read(ref _peak))
        {
            Interlocked.CompareExchange(ref _peak, now, peak);
        }

        return new Held(this, reservation, bytes);
    }

    private sealed class Held(CountingBudget owner, IDisposable reservation, long bytes) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                // Counted as given back before the budget may hand the bytes to someone else.
                Interlocked.Add(ref owner._held, -bytes);
                reservation.Dispose();
            }
        }
    }
}
