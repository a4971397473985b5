namespace Stefna.Sdk.Pipeline;

/// <summary>One type's producer as a health check sees it: running or not, when its loop last turned, how many jobs it holds.</summary>
internal sealed class ProducerStatus(TimeProvider time)
{
    private long _lastTurn = time.GetTimestamp();
    private int _running;
    private Func<int> _inFlight = static () => 0;

    /// <summary>Whether the producer's loop is running.</summary>
    public bool Running => Volatile.Read(ref _running) == 1;

    /// <summary>How many jobs the producer holds.</summary>
    public int InFlight => _inFlight();

    /// <summary>How long ago the loop last turned (claimed, or woke from a wait).</summary>
    public TimeSpan SinceLastTurn => time.GetElapsedTime(Interlocked.Read(ref _lastTurn));

    internal void Started(Func<int> inFlight)
    {
        _inFlight = inFlight;
        Turned();
        Volatile.Write(ref _running, 1);
    }

    internal void Turned() => Interlocked.Exchange(ref _lastTurn, time.GetTimestamp());

    internal void Stopped() => Volatile.Write(ref _running, 0);
}
