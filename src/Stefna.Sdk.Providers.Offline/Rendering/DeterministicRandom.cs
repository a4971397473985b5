namespace Stefna.Sdk.Providers.Offline.Rendering;

/// <summary>SplitMix64: a tiny pseudo-random generator whose sequence is fixed by its seed on every platform and
/// runtime version (unlike <see cref="Random"/>, whose seeded algorithm is not a documented contract).</summary>
internal sealed class DeterministicRandom(ulong seed)
{
    private ulong _state = seed;

    public ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="maxExclusive"/>).</summary>
    public int Next(int min, int maxExclusive)
    {
        if (maxExclusive <= min)
        {
            return min;
        }

        return min + (int)(NextUInt64() % (ulong)(maxExclusive - min));
    }

    /// <summary>A float in [0, 1).</summary>
    public float NextFloat() => (NextUInt64() >> 40) / (float)(1 << 24);

    /// <summary>A float in [<paramref name="min"/>, <paramref name="max"/>).</summary>
    public float NextFloat(float min, float max) => min + ((max - min) * NextFloat());
}
