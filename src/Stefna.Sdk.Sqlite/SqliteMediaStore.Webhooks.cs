using System.Data.Common;
using Microsoft.Data.Sqlite;
using Stefna.Sdk.Relational;
using Stefna.Sdk.Webhooks;

namespace Stefna.Sdk.Sqlite;

// The webhook outbox (IWebhookOutbox): one table shared by every type, written in the transaction of each terminal
// status change, claimed with leases by the delivery loop of any process sharing the file.
public sealed partial class SqliteMediaStore : IWebhookOutbox
{
    private const string Outbox = WebhookOutboxSql.Table;

    /// <inheritdoc />
    public IReadOnlyList<string> WebhookEndpoints { get; set; } = [];

    private static Task CreateWebhookOutboxAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, WebhookOutboxSql.Create(Dialect), cancellationToken, transaction);

    // Called inside the transaction of a terminal status change, with the job as it is after the change.
    private async Task AppendWebhooksAsync(SqliteConnection connection, SqliteTransaction transaction, GenerationJob job, CancellationToken cancellationToken)
    {
        var messages = WebhookOutboxEvents.Create(job, WebhookEndpoints, job.UpdatedAt);
        foreach (var message in messages)
        {
            await ExecuteAsync(connection, $"""
                INSERT INTO {Outbox} ({WebhookOutboxSql.InsertColumns})
                VALUES (@id, @type, @job, @event, @url, @payload, @created, @created)
                """, cancellationToken, transaction,
                ("@id", message.Id), ("@type", message.Type), ("@job", Id(message.JobId)), ("@event", message.EventType),
                ("@url", message.Url), ("@payload", message.Payload), ("@created", message.CreatedAt.UtcTicks)).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<WebhookMessage>> ClaimWebhooksAsync(int limit, TimeSpan leaseDuration, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return WriteAsync("claim webhooks", async connection =>
        {
            var now = _time.GetUtcNow();
            using var command = connection.CreateCommand();
            command.CommandText = $"""
                UPDATE {Outbox} SET {WebhookOutboxSql.Claim}
                WHERE id IN (
                    SELECT id FROM {Outbox}
                    WHERE {WebhookOutboxSql.Due}
                    ORDER BY next_attempt_at, id
                    LIMIT @limit)
                RETURNING {WebhookOutboxSql.Columns}
                """;
            command.Parameters.Add(Dialect.Time("now", now));
            command.Parameters.Add(Dialect.Time("until", now + leaseDuration));
            command.Parameters.Add(Dialect.Integer("limit", limit));
            return await WebhookOutboxSql.ReadAllAsync(Dialect, command, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<WebhookBacklog> GetWebhookBacklogAsync(CancellationToken cancellationToken)
    {
        using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*), min(max(next_attempt_at, coalesce(lease_until, 0))) FROM {Outbox} WHERE state = 'pending'";
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new WebhookBacklog(reader.GetInt64(0), reader.IsDBNull(1) ? null : Time(reader.GetInt64(1)));
    }

    // One outbox statement with @now (the store's clock) and the given parameters; returns the rows it changed.
    private Task<int> WebhookWriteAsync(string sql, CancellationToken cancellationToken, params DbParameter[] parameters) =>
        WriteAsync("write the webhook outbox", async connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.Parameters.Add(Dialect.Time("now", _time.GetUtcNow()));
            command.Parameters.AddRange(parameters);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
}
