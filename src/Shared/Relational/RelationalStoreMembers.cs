using System.Data.Common;
using Stefna.Sdk.Relational;
using Stefna.Sdk.Storage;
using Stefna.Sdk.Webhooks;

#if STEFNA_SQLITE_STORE
namespace Stefna.Sdk.Sqlite;
#else
namespace Stefna.Sdk.Postgres;
#endif

// The store members that are nothing but the relational core's flows, written once for both stores: this file is a
// part of SqliteMediaStore in the SQLite assembly (STEFNA_SQLITE_STORE) and of PostgresMediaStore in the PostgreSQL one.
// Each store supplies Table(type), AllTables, _jobs (RelationalJobs), _queue (JobQueueFlow), Dialect and
// WebhookWriteAsync (one outbox statement, with @now, returning the rows it changed); what its database does its own way (claims, cancel, batches, parking) stays in its files.
#if STEFNA_SQLITE_STORE
public sealed partial class SqliteMediaStore
#else
public sealed partial class PostgresMediaStore
#endif
{
    /// <inheritdoc />
    public Task<InsertResult> InsertAsync(NewGenerationJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        return _jobs.InsertAsync(Table(job.Type), job, cancellationToken);
    }

    /// <inheritdoc />
    public Task<GenerationJob?> FindByIdempotencyKeyAsync(string type, string userId, string idempotencyKey, CancellationToken cancellationToken) =>
        _jobs.FindByIdempotencyKeyAsync(Table(type), userId, idempotencyKey, cancellationToken);

    /// <inheritdoc />
    public Task<GenerationJob?> GetAsync(string type, Guid id, string userId, CancellationToken cancellationToken) =>
        _jobs.GetAsync(Table(type), id, userId, cancellationToken);

    /// <inheritdoc />
    public Task<FeedPage> QueryFeedAsync(FeedQuery query, CancellationToken cancellationToken) =>
        _jobs.QueryFeedAsync(Table, AllTables, query, cancellationToken);

    /// <inheritdoc />
    public IReadOnlyList<GenerationJob> TakeExhaustedJobs() => _queue.TakeExhaustedJobs();

    /// <inheritdoc />
    public Task<bool> CompleteAsync(JobLease lease, JobResult result, CancellationToken cancellationToken) =>
        JobQueueFlow.CompleteOneAsync(CompleteManyAsync, lease, result, cancellationToken);

    /// <inheritdoc />
    public Task<long> CountUnfinishedAsync(string type, CancellationToken cancellationToken) =>
        _jobs.CountUnfinishedAsync(Table(type), cancellationToken);

    /// <inheritdoc />
    public Task<QueueSnapshot> GetQueueSnapshotAsync(string type, CancellationToken cancellationToken) =>
        _jobs.GetQueueSnapshotAsync(Table(type), cancellationToken);

    /// <inheritdoc />
    public Task<bool> MarkWebhookDeliveredAsync(WebhookMessage message, CancellationToken cancellationToken) =>
        GuardedWebhookWriteAsync(message, WebhookOutboxSql.Delivered, cancellationToken);

    /// <inheritdoc />
    public Task<bool> RetryWebhookAsync(WebhookMessage message, DateTimeOffset notBefore, string error, CancellationToken cancellationToken) =>
        GuardedWebhookWriteAsync(message, WebhookOutboxSql.Retry, cancellationToken, Dialect.Time("next", notBefore), Dialect.Text("error", error));

    /// <inheritdoc />
    public Task<bool> AbandonWebhookAsync(WebhookMessage message, string error, CancellationToken cancellationToken) =>
        GuardedWebhookWriteAsync(message, WebhookOutboxSql.Abandon, cancellationToken, Dialect.Text("error", error));

    /// <inheritdoc />
    public Task<int> PruneWebhooksAsync(DateTimeOffset olderThan, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return WebhookWriteAsync(WebhookOutboxSql.Prune, cancellationToken, Dialect.Time("cut", olderThan), Dialect.Integer("limit", limit));
    }

    private async Task<bool> GuardedWebhookWriteAsync(WebhookMessage message, string set, CancellationToken cancellationToken, params DbParameter[] parameters)
    {
        ArgumentNullException.ThrowIfNull(message);

        // Only the claim that made this attempt may record its outcome.
        DbParameter[] guard = [Dialect.Text("id", message.Id), Dialect.Integer("attempt", message.Attempts)];
        return await WebhookWriteAsync(WebhookOutboxSql.GuardedUpdate(set), cancellationToken, [.. guard, .. parameters]).ConfigureAwait(false) == 1;
    }
}
