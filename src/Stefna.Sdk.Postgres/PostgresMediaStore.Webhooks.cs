using System.Data.Common;
using Npgsql;
using Stefna.Sdk.Relational;
using Stefna.Sdk.Webhooks;

namespace Stefna.Sdk.Postgres;

// The webhook outbox (IWebhookOutbox): one table shared by every type (core migration 2), written in the transaction
// of each terminal status change, claimed by the delivery loops of every host with FOR UPDATE SKIP LOCKED and leases.
// Its times are the host's TimeProvider (the retry schedule is computed by the host anyway).
public sealed partial class PostgresMediaStore : IWebhookOutbox
{
    internal const string OutboxTable = WebhookOutboxSql.Table;

    internal const string CreateOutboxSql = $"""
        CREATE TABLE IF NOT EXISTS {OutboxTable} (
            id text PRIMARY KEY,
            type text NOT NULL,
            job_id uuid NOT NULL,
            event_type text NOT NULL,
            url text NOT NULL,
            payload text NOT NULL,
            created_at timestamptz NOT NULL,
            next_attempt_at timestamptz NOT NULL,
            attempts integer NOT NULL DEFAULT 0,
            lease_until timestamptz,
            state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','delivered','abandoned')),
            last_error text,
            delivered_at timestamptz
        );
        CREATE INDEX IF NOT EXISTS {OutboxTable}_due_idx ON {OutboxTable} (next_attempt_at) WHERE state = 'pending';
        """;

    // Core migration 3: the index pruning reads (finished messages by the time they finished); its text stays as applied.
    internal const string CreateOutboxFinishedIndexSql = $"""
        CREATE INDEX IF NOT EXISTS {OutboxTable}_finished_idx ON {OutboxTable} ((coalesce(delivered_at, next_attempt_at))) WHERE state <> 'pending'
        """;

    /// <inheritdoc />
    public IReadOnlyList<string> WebhookEndpoints { get; set; } = [];

    // Whether a terminal change of this job may write messages (so needs the outbox insert in its transaction).
    private bool MayHaveWebhooks(GenerationJob job) => WebhookEndpoints.Count > 0 || job.Meta.ContainsKey(WebhookOutboxEvents.CallbackMetaKey);

    // Inside the transaction of a terminal status change, with the jobs as they are after it: one INSERT for all.
    private async Task AppendWebhooksAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IEnumerable<GenerationJob> jobs, CancellationToken cancellationToken)
    {
        var messages = jobs.SelectMany(job => WebhookOutboxEvents.Create(job, WebhookEndpoints, job.UpdatedAt)).ToList();
        if (messages.Count == 0)
        {
            return;
        }

        await using var command = new NpgsqlCommand($"""
            INSERT INTO {OutboxTable} ({WebhookOutboxSql.InsertColumns})
            SELECT m.id, m.type, m.job_id, m.event_type, m.url, m.payload, m.created_at, m.created_at
            FROM unnest(@ids, @types, @job_ids, @events, @urls, @payloads, @created) AS m(id, type, job_id, event_type, url, payload, created_at)
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string[]>("ids", [.. messages.Select(m => m.Id)]));
        command.Parameters.Add(new NpgsqlParameter<string[]>("types", [.. messages.Select(m => m.Type)]));
        command.Parameters.Add(new NpgsqlParameter<Guid[]>("job_ids", [.. messages.Select(m => m.JobId)]));
        command.Parameters.Add(new NpgsqlParameter<string[]>("events", [.. messages.Select(m => m.EventType)]));
        command.Parameters.Add(new NpgsqlParameter<string[]>("urls", [.. messages.Select(m => m.Url)]));
        command.Parameters.Add(new NpgsqlParameter<string[]>("payloads", [.. messages.Select(m => m.Payload)]));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]>("created", [.. messages.Select(m => m.CreatedAt.ToUniversalTime())]));
        await Guard(command.ExecuteNonQueryAsync(cancellationToken)).ConfigureAwait(false);
    }

    // Runs a terminal write in a transaction together with its webhooks; the write returns the jobs it changed.
    private async Task<T> WithWebhooksAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<(T Result, IReadOnlyList<GenerationJob> Terminal)>> write, CancellationToken cancellationToken)
    {
        await using var connection = await Guard(_dataSource.OpenConnectionAsync(cancellationToken).AsTask()).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var (result, terminal) = await write(connection, transaction).ConfigureAwait(false);
        await AppendWebhooksAsync(connection, transaction, terminal, cancellationToken).ConfigureAwait(false);
        await Guard(transaction.CommitAsync(cancellationToken)).ConfigureAwait(false);
        return result;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<WebhookMessage>> ClaimWebhooksAsync(int limit, TimeSpan leaseDuration, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var now = _time.GetUtcNow().ToUniversalTime();
        await using var command = _dataSource.CreateCommand($"""
            WITH picked AS MATERIALIZED (
                SELECT id FROM {OutboxTable}
                WHERE {WebhookOutboxSql.Due}
                ORDER BY next_attempt_at, id
                LIMIT @limit
                FOR UPDATE SKIP LOCKED)
            UPDATE {OutboxTable} AS o SET {WebhookOutboxSql.Claim}
            FROM picked WHERE o.id = picked.id
            RETURNING o.id, o.type, o.job_id, o.event_type, o.url, o.payload, o.created_at, o.attempts
            """);
        command.Parameters.Add(Dialect.Time("now", now));
        command.Parameters.Add(Dialect.Time("until", now + leaseDuration));
        command.Parameters.Add(Dialect.Integer("limit", limit));
        return await Guard(WebhookOutboxSql.ReadAllAsync(Dialect, command, cancellationToken)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<WebhookBacklog> GetWebhookBacklogAsync(CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"SELECT count(*), min(greatest(next_attempt_at, lease_until)) FROM {OutboxTable} WHERE state = 'pending'");
        return await Guard(async () =>
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return new WebhookBacklog(reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1));
        }).ConfigureAwait(false);
    }

    // One outbox statement with @now (the host's clock) and the given parameters; returns the rows it changed.
    private async Task<int> WebhookWriteAsync(string sql, CancellationToken cancellationToken, params DbParameter[] parameters)
    {
        await using var command = _dataSource.CreateCommand(sql);
        command.Parameters.Add(Dialect.Time("now", _time.GetUtcNow()));
        command.Parameters.AddRange(parameters);
        return await Guard(command.ExecuteNonQueryAsync(cancellationToken)).ConfigureAwait(false);
    }
}
