using Microsoft.Data.Sqlite;
using Stefna.Sdk.Webhooks;

namespace Stefna.Sdk.Sqlite;

// The webhook outbox (IWebhookOutbox): one table shared by every type, written in the transaction of each terminal
// status change, claimed with leases by the delivery loop of any process sharing the file.
public sealed partial class SqliteMediaStore : IWebhookOutbox
{
    private const string Outbox = "stefna_webhook_outbox";
    private const string OutboxColumns = "id, type, job_id, event_type, url, payload, created_at, attempts";

    /// <inheritdoc />
    public IReadOnlyList<string> WebhookEndpoints { get; set; } = [];

    private static Task CreateWebhookOutboxAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, $"""
            CREATE TABLE IF NOT EXISTS {Outbox} (
                id TEXT PRIMARY KEY,
                type TEXT NOT NULL,
                job_id TEXT NOT NULL,
                event_type TEXT NOT NULL,
                url TEXT NOT NULL,
                payload TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                next_attempt_at INTEGER NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                lease_until INTEGER,
                state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','delivered','abandoned')),
                last_error TEXT,
                delivered_at INTEGER
            );
            CREATE INDEX IF NOT EXISTS {Outbox}_due_idx ON {Outbox} (next_attempt_at) WHERE state = 'pending';
            """, cancellationToken, transaction);

    // Called inside the transaction of a terminal status change, with the job as it is after the change.
    private async Task AppendWebhooksAsync(SqliteConnection connection, SqliteTransaction transaction, GenerationJob job, CancellationToken cancellationToken)
    {
        var messages = WebhookOutboxEvents.Create(job, WebhookEndpoints, job.UpdatedAt);
        foreach (var message in messages)
        {
            await ExecuteAsync(connection, $"""
                INSERT INTO {Outbox} (id, type, job_id, event_type, url, payload, created_at, next_attempt_at)
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
                UPDATE {Outbox} SET attempts = attempts + 1, lease_until = @until
                WHERE id IN (
                    SELECT id FROM {Outbox}
                    WHERE state = 'pending' AND next_attempt_at <= @now AND (lease_until IS NULL OR lease_until <= @now)
                    ORDER BY next_attempt_at, id
                    LIMIT @limit)
                RETURNING {OutboxColumns}
                """;
            command.Parameters.AddWithValue("@now", now.UtcTicks);
            command.Parameters.AddWithValue("@until", (now + leaseDuration).UtcTicks);
            command.Parameters.AddWithValue("@limit", limit);
            var messages = new List<WebhookMessage>();
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                messages.Add(new WebhookMessage
                {
                    Id = reader.GetString(0),
                    Type = reader.GetString(1),
                    JobId = Guid.Parse(reader.GetString(2)),
                    EventType = reader.GetString(3),
                    Url = reader.GetString(4),
                    Payload = reader.GetString(5),
                    CreatedAt = Time(reader.GetInt64(6)),
                    Attempts = reader.GetInt32(7),
                });
            }

            return (IReadOnlyList<WebhookMessage>)messages;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> MarkWebhookDeliveredAsync(WebhookMessage message, CancellationToken cancellationToken) =>
        GuardedWebhookUpdateAsync(message, "state = 'delivered', lease_until = NULL, last_error = NULL, delivered_at = @now", cancellationToken);

    /// <inheritdoc />
    public Task<bool> RetryWebhookAsync(WebhookMessage message, DateTimeOffset notBefore, string error, CancellationToken cancellationToken) =>
        GuardedWebhookUpdateAsync(message, "next_attempt_at = @next, lease_until = NULL, last_error = @error", cancellationToken, ("@next", notBefore.UtcTicks), ("@error", error));

    /// <inheritdoc />
    public Task<bool> AbandonWebhookAsync(WebhookMessage message, string error, CancellationToken cancellationToken) =>
        GuardedWebhookUpdateAsync(message, "state = 'abandoned', lease_until = NULL, last_error = @error", cancellationToken, ("@error", error));

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

    private Task<bool> GuardedWebhookUpdateAsync(WebhookMessage message, string set, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        ArgumentNullException.ThrowIfNull(message);
        return WriteAsync("update webhook", async connection =>
        {
            // Only the claim that made this attempt may record its outcome.
            using var command = connection.CreateCommand();
            command.CommandText = $"UPDATE {Outbox} SET {set} WHERE id = @id AND attempts = @attempt AND state = 'pending'";
            command.Parameters.AddWithValue("@now", _time.GetUtcNow().UtcTicks);
            command.Parameters.AddWithValue("@id", message.Id);
            command.Parameters.AddWithValue("@attempt", message.Attempts);
            foreach (var (name, value) in parameters)
            {
                command.Parameters.AddWithValue(name, value);
            }

            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken);
    }
}
