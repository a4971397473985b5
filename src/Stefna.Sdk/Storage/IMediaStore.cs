namespace Stefna.Sdk.Storage;

/// <summary>
/// A store: the jobs of the generation types routed to it, one dedicated table per type, and the queue workers claim
/// from. It is the minimal set of roles a store implements: <see cref="IJobRecordStore"/> (a user's jobs and the feed,
/// what the pipeline uses), <see cref="IJobQueue"/> (claims, leases and worker writes, what the job engine uses) and
/// <see cref="IMediaStoreSchema"/> (tables, created at start-up). Optional roles a store may add:
/// <see cref="IJobParking"/>, <see cref="IJobNotificationSource"/>, <see cref="IJobStatusNotificationSource"/> and
/// <c>Stefna.Sdk.Webhooks.IWebhookOutbox</c>. A host has a default store (<c>UseSqlite</c>, <c>UsePostgres</c>) and any
/// type may have one of its own (<c>UseMediaStore(type, …)</c>). Shipped implementations: <c>Stefna.Sdk.Sqlite</c>
/// (embedded default), <c>Stefna.Sdk.Postgres</c> (production, multi-host); <c>Stefna.Sdk.Testing</c> has the
/// conformance kit, one contract class per role.
/// </summary>
public interface IMediaStore : IJobRecordStore, IJobQueue, IMediaStoreSchema;

/// <summary>Optional: a store that can tell workers in any process that new work has arrived (PostgreSQL LISTEN/NOTIFY).</summary>
public interface IJobNotificationSource
{
    /// <summary>Waits until work for any of the given types may be available, or the timeout elapses.</summary>
    /// <param name="types">The types the caller works on.</param>
    /// <param name="timeout">The longest wait.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns><see langword="true"/> when a notification (or a reconnect, after which notifications may have been
    /// missed) woke the wait; <see langword="false"/> at the timeout. One notification wakes one wait per type.</returns>
    Task<bool> WaitForWorkAsync(IReadOnlyCollection<string> types, TimeSpan timeout, CancellationToken cancellationToken);
}
