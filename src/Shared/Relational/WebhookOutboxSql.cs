using System.Data.Common;
using Stefna.Sdk.Webhooks;

namespace Stefna.Sdk.Relational;

/// <summary>The webhook outbox both stores keep (one table shared by every type, written in the transaction of each
/// terminal status change, claimed with leases by delivery loops): its statements' common parts and its row reader.
/// Parameters: <c>@now</c>, <c>@id</c>, <c>@attempt</c>, <c>@next</c>, <c>@error</c>, <c>@cut</c>, <c>@limit</c>.</summary>
internal static class WebhookOutboxSql
{
    public const string Table = "stefna_webhook_outbox";

    /// <summary>The outbox table's columns in order, with their logical types and constraints (SQLite makes its table
    /// from them; PostgreSQL's is core migration 2, whose text stays as it was applied).</summary>
    public static readonly (string Name, ColumnType Type, string Constraint)[] TableColumns =
    [
        ("id", ColumnType.Text, "PRIMARY KEY"),
        ("type", ColumnType.Text, "NOT NULL"),
        ("job_id", ColumnType.Id, "NOT NULL"),
        ("event_type", ColumnType.Text, "NOT NULL"),
        ("url", ColumnType.Text, "NOT NULL"),
        ("payload", ColumnType.Text, "NOT NULL"),
        ("created_at", ColumnType.Timestamp, "NOT NULL"),
        ("next_attempt_at", ColumnType.Timestamp, "NOT NULL"),
        ("attempts", ColumnType.Integer, "NOT NULL DEFAULT 0"),
        ("lease_until", ColumnType.Timestamp, string.Empty),
        ("state", ColumnType.Text, "NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','delivered','abandoned'))"),
        ("last_error", ColumnType.Text, string.Empty),
        ("delivered_at", ColumnType.Timestamp, string.Empty),
    ];

    /// <summary>The index of the delivery loops' pick.</summary>
    public const string DueIndex = $"CREATE INDEX IF NOT EXISTS {Table}_due_idx ON {Table} (next_attempt_at) WHERE state = 'pending'";

    /// <summary>When a finished message finished: delivered ones when delivered; abandoned ones have no time of their
    /// own, so the due time of their last attempt (the attempt that gave up began at or after it).</summary>
    public const string FinishedAt = "coalesce(delivered_at, next_attempt_at)";

    /// <summary>The index of pruning: finished messages by <see cref="FinishedAt"/> (PostgreSQL: core migration 3).</summary>
    public const string FinishedIndex = $"CREATE INDEX IF NOT EXISTS {Table}_finished_idx ON {Table} (({FinishedAt})) WHERE state <> 'pending'";

    /// <summary>Deletes up to <c>@limit</c> delivered or abandoned messages finished before <c>@cut</c>, earliest
    /// first; pending messages (leased or not) never.</summary>
    public const string Prune = $"""
        DELETE FROM {Table} WHERE id IN (
            SELECT id FROM {Table}
            WHERE state <> 'pending' AND {FinishedAt} < @cut
            ORDER BY {FinishedAt}
            LIMIT @limit)
        """;

    /// <summary>The outbox table in <paramref name="dialect"/>'s types, and its indexes.</summary>
    public static string Create(RelationalDialect dialect) =>
        $"CREATE TABLE IF NOT EXISTS {Table} (\n    "
        + string.Join(",\n    ", TableColumns.Select(c => $"{c.Name} {dialect.TypeName(c.Type)} {c.Constraint}".TrimEnd()))
        + $"\n);\n{DueIndex};\n{FinishedIndex};";

    /// <summary>The columns a claim returns, in the order <see cref="Read"/> reads them.</summary>
    public const string Columns = "id, type, job_id, event_type, url, payload, created_at, attempts";

    /// <summary>The columns an insert writes (<c>next_attempt_at</c> = <c>created_at</c>: due at once).</summary>
    public const string InsertColumns = "id, type, job_id, event_type, url, payload, created_at, next_attempt_at";

    /// <summary>Pending, due and not leased by another delivery loop.</summary>
    public const string Due = "state = 'pending' AND next_attempt_at <= @now AND (lease_until IS NULL OR lease_until <= @now)";

    /// <summary>What claiming a message writes: one more attempt, leased until <c>@until</c>.</summary>
    public const string Claim = "attempts = attempts + 1, lease_until = @until";

    public const string Delivered = "state = 'delivered', lease_until = NULL, last_error = NULL, delivered_at = @now";

    public const string Retry = "next_attempt_at = @next, lease_until = NULL, last_error = @error";

    public const string Abandon = "state = 'abandoned', lease_until = NULL, last_error = @error";

    /// <summary>Records a delivery outcome: only the claim that made this attempt may.</summary>
    public static string GuardedUpdate(string set) => $"UPDATE {Table} SET {set} WHERE id = @id AND attempts = @attempt AND state = 'pending'";

    /// <summary>Reads a claimed message (<see cref="Columns"/> from ordinal 0).</summary>
    public static WebhookMessage Read(RelationalDialect dialect, DbDataReader reader) => new()
    {
        Id = reader.GetString(0),
        Type = reader.GetString(1),
        JobId = dialect.ReadId(reader, 2),
        EventType = reader.GetString(3),
        Url = reader.GetString(4),
        Payload = reader.GetString(5),
        CreatedAt = dialect.ReadTime(reader, 6),
        Attempts = reader.GetInt32(7),
    };

    /// <summary>Reads every claimed message <paramref name="command"/> returns.</summary>
    public static async Task<IReadOnlyList<WebhookMessage>> ReadAllAsync(RelationalDialect dialect, DbCommand command, CancellationToken cancellationToken)
    {
        var messages = new List<WebhookMessage>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            messages.Add(Read(dialect, reader));
        }

        return messages;
    }
}
