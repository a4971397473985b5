using Stefna.TestUtils;

namespace Stefna.Sdk.Postgres.Tests;

/// <summary>Brings a store's LISTEN connection to a known state before a test counts wake-ups.</summary>
internal static class Listening
{
    private static readonly TimeSpan Ceiling = TimeSpan.FromSeconds(30);

    /// <summary>Starts the listener (if nobody did), waits until it has (re)connected <paramref name="connections"/>
    /// times and listens, then takes the wake-up every (re)connect sends. After this the next wake-up for
    /// <paramref name="type"/> comes from a notification (or a further reconnect), whatever the machine's load: a
    /// connect that took longer than some fixed wait can no longer wake the test's next wait.</summary>
    /// <param name="listener">The store's listener.</param>
    /// <param name="type">The type the test waits for.</param>
    /// <param name="connections">How many (re)connects to wait for.</param>
    /// <returns>A task that ends when no wake-up is pending.</returns>
    public static async Task ConnectedAndQuietAsync(NotificationListener listener, string type, int connections = 1)
    {
        await listener.WaitAsync([type], TimeSpan.Zero, CancellationToken.None);
        await Eventually.HoldsAsync(() => listener.Connections >= connections && listener.IsListening, $"the listener never (re)connected {connections} time(s)", Ceiling);

        // Connections counts a (re)connect after its wake-up, so the wake-up is pending now; a zero wait takes it.
        while (await listener.WaitAsync([type], TimeSpan.Zero, CancellationToken.None))
        {
        }
    }
}
