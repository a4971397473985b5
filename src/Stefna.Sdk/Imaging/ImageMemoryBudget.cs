namespace Stefna.Sdk.Imaging;

/// <summary>
/// A host-wide budget of memory for decoded images. Every decode is capped on its own (<see
/// cref="Configuration.StefnaOptions.MaxImagePixels"/>), but many decodes at once are not: forty 2 KB WebP files of
/// 7000×7000 pixels each decode to 196 MB. Image work reserves what it will hold before it decodes and gives it back
/// when done; work over the budget waits. One registered instance per host (<c>AddStefna()</c> registers <see
/// cref="ImageMemoryBudget"/> sized by <see cref="Configuration.StefnaOptions.ImageMemoryBudgetBytes"/>).
/// </summary>
public interface IImageMemoryBudget
{
    /// <summary>The most bytes that may be reserved at once.</summary>
    long CapacityBytes { get; }

    /// <summary>Reserves <paramref name="bytes"/>, waiting (in arrival order) until they fit under the budget.</summary>
    /// <param name="bytes">The bytes the work will hold at most; positive.</param>
    /// <param name="cancellationToken">Stops the wait; nothing stays reserved.</param>
    /// <returns>The reservation; dispose it to give the bytes back (disposing twice gives them back once).</returns>
    /// <exception cref="GenerationException">More than <see cref="CapacityBytes"/> was asked for: the work can never
    /// run on this host (<see cref="GenerationErrorCategory.InvalidRequest"/>, code
    /// <c>invalid_request.image_over_memory_budget</c>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled while waiting.</exception>
    ValueTask<IDisposable> ReserveAsync(long bytes, CancellationToken cancellationToken);
}

/// <summary>
/// The default <see cref="IImageMemoryBudget"/>: a byte-counting gate, first come first served (a large reservation at
/// the head of the line is not overtaken by smaller ones, so it cannot starve). Thread-safe.
/// </summary>
public sealed class ImageMemoryBudget : IImageMemoryBudget
{
    /// <summary>The error code of a reservation larger than the whole budget.</summary>
    public const string OverBudgetCode = "invalid_request.image_over_memory_budget";

    private readonly Lock _lock = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private long _reserved;

    /// <summary>Creates a budget.</summary>
    /// <param name="capacityBytes">The most bytes that may be reserved at once; positive.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacityBytes"/> is not positive.</exception>
    public ImageMemoryBudget(long capacityBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityBytes);
        CapacityBytes = capacityBytes;
    }

    /// <inheritdoc />
    public long CapacityBytes { get; }

    /// <summary>The bytes reserved now.</summary>
    public long ReservedBytes
    {
        get
        {
            lock (_lock)
            {
                return _reserved;
            }
        }
    }

    /// <summary>How many reservations are waiting now.</summary>
    public int WaitingCount
    {
        get
        {
            lock (_lock)
            {
                return _waiters.Count;
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<IDisposable> ReserveAsync(long bytes, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        if (bytes > CapacityBytes)
        {
            throw new GenerationException(
                GenerationErrorCategory.InvalidRequest,
                $"The image needs about {Megabytes(bytes)} of memory to process; this host's image memory budget is {Megabytes(CapacityBytes)} (StefnaOptions.ImageMemoryBudgetBytes). Send a smaller image.",
                OverBudgetCode);
        }

        cancellationToken.ThrowIfCancellationRequested();
        Waiter waiter;
        lock (_lock)
        {
            if (_waiters.Count == 0 && _reserved + bytes <= CapacityBytes)
            {
                _reserved += bytes;
                return ValueTask.FromResult<IDisposable>(new Reservation(this, bytes));
            }

            waiter = new Waiter(this, bytes);
            waiter.Node = _waiters.AddLast(waiter);
        }

        return WaitAsync(waiter, cancellationToken);
    }

    private async ValueTask<IDisposable> WaitAsync(Waiter waiter, CancellationToken cancellationToken)
    {
        await using (cancellationToken.UnsafeRegister(static (state, token) => ((Waiter)state!).Cancel(token), waiter).ConfigureAwait(false))
        {
            await waiter.Granted.Task.ConfigureAwait(false);
        }

        return new Reservation(this, waiter.Bytes);
    }

    private void Cancel(Waiter waiter, CancellationToken token)
    {
        List<Waiter>? granted;
        lock (_lock)
        {
            if (waiter.Node?.List is null)
            {
                return; // Granted already: the reservation is returned and released by its holder.
            }

            _waiters.Remove(waiter.Node);
            // The head of the line may have been the one that blocked those behind it.
            granted = GrantLocked();
        }

        waiter.Granted.TrySetCanceled(token);
        Complete(granted);
    }

    private void Release(long bytes)
    {
        List<Waiter>? granted;
        lock (_lock)
        {
            _reserved -= bytes;
            granted = GrantLocked();
        }

        Complete(granted);
    }

    private List<Waiter>? GrantLocked()
    {
        List<Waiter>? granted = null;
        while (_waiters.First is { } first && _reserved + first.Value.Bytes <= CapacityBytes)
        {
            _reserved += first.Value.Bytes;
            _waiters.RemoveFirst();
            (granted ??= []).Add(first.Value);
        }

        return granted;
    }

    // Outside the lock: continuations run asynchronously anyway, but nothing else runs under it.
    private static void Complete(List<Waiter>? granted)
    {
        if (granted is null)
        {
            return;
        }

        foreach (var w in granted)
        {
            w.Granted.TrySetResult();
        }
    }

    private static string Megabytes(long bytes) => FormattableString.Invariant($"{bytes / (1024.0 * 1024.0):0.#} MiB");

    private sealed class Waiter(ImageMemoryBudget owner, long bytes)
    {
        public long Bytes { get; } = bytes;

        public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Waiter>? Node { get; set; }

        public void Cancel(CancellationToken token) => owner.Cancel(this, token);
    }

    private sealed class Reservation(ImageMemoryBudget owner, long bytes) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                owner.Release(bytes);
            }
        }
    }
}
