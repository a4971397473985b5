using System.Diagnostics;
using Xunit;

namespace Stefna.TestUtils;

/// <summary>Waits for something another thread or process makes true (a listener connected, a producer's first
/// claim), checking every few milliseconds. The limit is a ceiling for a broken build, far above what the wait takes on
/// a loaded machine; reaching it fails the test naming what never happened.</summary>
public static class Eventually
{
    /// <summary>Returns once <paramref name="condition"/> holds; fails with <paramref name="what"/> after <paramref name="limit"/>.</summary>
    /// <param name="condition">What to wait for.</param>
    /// <param name="what">What never happened, for the failure message.</param>
    /// <param name="limit">The ceiling.</param>
    /// <returns>A task that ends when the condition holds.</returns>
    public static Task HoldsAsync(Func<bool> condition, string what, TimeSpan limit) =>
        HoldsAsync(() => Task.FromResult(condition()), () => what, limit);

    /// <summary>Returns once <paramref name="condition"/> (which may ask a database or a server) holds; fails with what
    /// <paramref name="what"/> says at that moment after <paramref name="limit"/>.</summary>
    /// <param name="condition">What to wait for.</param>
    /// <param name="what">What never happened, for the failure message (read when it fails).</param>
    /// <param name="limit">The ceiling.</param>
    /// <returns>A task that ends when the condition holds.</returns>
    public static async Task HoldsAsync(Func<Task<bool>> condition, Func<string> what, TimeSpan limit)
    {
        var waited = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(waited.Elapsed < limit, $"{what()} (waited {limit.TotalSeconds:F0} s)");
            await Task.Delay(10);
        }
    }
}
