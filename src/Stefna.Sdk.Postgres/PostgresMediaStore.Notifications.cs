using Stefna.Sdk.Storage;

namespace Stefna.Sdk.Postgres;

// Wake-ups and status changes from other hosts, over the shared LISTEN connection (NotificationListener).
public sealed partial class PostgresMediaStore
{
    /// <summary>The shared LISTEN connection's state (for tests).</summary>
    internal NotificationListener Listener => _listener;

    /// <inheritdoc />
    public bool IsListeningForStatusChanges => _options.NotifyStatusChanges && _listener.IsListening;

    /// <inheritdoc />
    public IDisposable SubscribeToStatusChanges(IJobStatusSubscriber subscriber)
    {
        ArgumentNullException.ThrowIfNull(subscriber);

        // Not notifying: nothing to listen to; watchers poll (IsListeningForStatusChanges stays false).
        return _options.NotifyStatusChanges ? _listener.Subscribe(subscriber) : NoSubscription.Instance;
    }

    private sealed class NoSubscription : IDisposable
    {
        public static readonly NoSubscription Instance = new();

        public void Dispose()
        {
        }
    }

    /// <inheritdoc />
    public Task<bool> WaitForWorkAsync(IReadOnlyCollection<string> types, TimeSpan timeout, CancellationToken cancellationToken) =>
        _listener.WaitAsync(types, timeout, cancellationToken);
}
