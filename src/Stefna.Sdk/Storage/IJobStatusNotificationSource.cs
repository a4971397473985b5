namespace Stefna.Sdk.Storage;

/// <summary>Optional, implemented by an <see cref="IMediaStore"/>: tells this host when a job's status changed in any
/// process (PostgreSQL LISTEN/NOTIFY), so <see cref="IGenerationPipeline.WatchAsync"/> follows jobs without polling.
/// Without it, or while <see cref="IsListeningForStatusChanges"/> is <see langword="false"/>, watchers poll every
/// <c>StefnaOptions.WatchPollInterval</c>.</summary>
public interface IJobStatusNotificationSource
{
    /// <summary>Whether status notifications arrive right now (the listening connection is up). A store that reports
    /// <see langword="true"/> must notify every status change it writes, for every process, this one included.</summary>
    bool IsListeningForStatusChanges { get; }

    /// <summary>Starts delivering status notifications to <paramref name="subscriber"/> (and starts listening, if the store
    /// was not yet).</summary>
    /// <param name="subscriber">The subscriber; called on the store's listening thread, so it must return quickly.</param>
    /// <returns>Ends the subscription when disposed.</returns>
    IDisposable SubscribeToStatusChanges(IJobStatusSubscriber subscriber);
}

/// <summary>Receives the notifications of an <see cref="IJobStatusNotificationSource"/>.</summary>
public interface IJobStatusSubscriber
{
    /// <summary>A job's status changed (in this or another process).</summary>
    /// <param name="type">The job's type.</param>
    /// <param name="id">The job's id.</param>
    void OnStatusChanged(string type, Guid id);

    /// <summary>Notifications may have been missed (the listening connection was opened again, or was lost): any job may
    /// have changed, and <see cref="IJobStatusNotificationSource.IsListeningForStatusChanges"/> may have changed too.</summary>
    void OnNotificationsMissed();
}
