using System.Text;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Relational;

namespace Stefna.Sdk.Postgres;

/// <summary>The statements of one type table, built once from its validated definition: the relational core's shared
/// ones (<see cref="RelationalTable"/>) and the ones PostgreSQL does its own way (row locks skipped by claimers, batch
/// writes over <c>unnest</c>, status notifications riding on RETURNING, the database clock).</summary>
internal sealed class TableSql : RelationalTable
{
    public TableSql(PostgresDialect dialect, GenerationTypeDefinition definition, bool databaseClock, bool notifyStatus = false)
        : base(dialect, definition)
    {
        var t = Quoted;
        var columns = Columns;

        // Every status change tells every host's watchers, in the statement that makes it (sent on commit, only for rows
        // it changed). Parameters @status_channel and @status_type; see PostgresMediaStore.AddStatusParameters.
        string Notify(string id) => notifyStatus ? $", pg_notify(@status_channel, @status_type || ':' || {id}::text)::text" : string.Empty;

        // The clock for leases and updated_at: the database's, so skewed hosts agree, or the host's (@now).
        var now = databaseClock ? "now()" : "@now";

        // One statement: pick up to the claim's limit of the oldest claimable rows, skipping rows other workers hold
        // locked, and take them (River's JobGetAvailable shape). The CTE is MATERIALIZED so the locking pick runs
        // exactly once. The claimable predicate is repeated under the partial claim index's own predicate. With a limit
        // of jobs outstanding at the provider the claim runs under the type's advisory lock in its own transaction, so
        // the count sees every other host's committed claim.
        string ClaimStatement(bool limited) => $"""
            WITH picked AS MATERIALIZED (
                SELECT id FROM {t}
                WHERE {PostgresSchema.UnfinishedPredicate} AND {JobWrites.Claimable(now)}
                ORDER BY created_at, id
                LIMIT {JobWrites.ClaimLimit(dialect, t, limited)}
                FOR UPDATE SKIP LOCKED)
            UPDATE {t} SET {JobWrites.Claim(now, now + " + @lease")}
            WHERE id IN (SELECT id FROM picked)
            RETURNING {columns}{Notify("id")}
            """;
        Claim = ClaimStatement(limited: false);
        ClaimLimited = ClaimStatement(limited: true);
        ClaimLockKey = BitConverter.ToInt64(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes("stefna-claim:" + definition.TableName)), 0);

        // Every lease the host holds on this type in one statement; the ids that come back were renewed, the rest lost.
        RenewMany = $"""
            UPDATE {t} AS j SET {JobWrites.Renew(now, now + " + @lease")}
            FROM unnest(@ids, @attempts) AS l(id, attempt)
            WHERE j.id = l.id AND j.status = 'processing' AND j.attempts = l.attempt AND j.next_check_at IS NULL
            RETURNING j.id
            """;

        SetProviderJobId = GuardedUpdate(JobWrites.SetProviderJobId, now);

        // Parking gives up the lease; the next check travels as a delay from the host's now with the database clock.
        Park = GuardedUpdate(JobWrites.Park(databaseClock ? "now() + @delay" : "@next_check_at"), now);

        // Due parked rows, earliest first, skipping rows another poller holds locked, leased without spending an
        // attempt. The outer LEFT JOIN always yields one row, so the same round trip also tells how far away the
        // earliest parked row left behind is (read in the same snapshot: rows taken here still show as due, hence > now).
        ClaimParked = $"""
            WITH picked AS MATERIALIZED (
                SELECT id FROM {t}
                WHERE {JobWrites.ParkedDue(now)}
                ORDER BY next_check_at, id
                LIMIT @limit
                FOR UPDATE SKIP LOCKED),
            taken AS (
                UPDATE {t} SET {JobWrites.ClaimParked(now, now + " + @lease")}
                WHERE id IN (SELECT id FROM picked)
                RETURNING {columns})
            SELECT (SELECT min(next_check_at) FROM {t} WHERE status = 'processing' AND next_check_at > {now}) - {now} AS next_in, taken.*
            FROM (SELECT 1) AS one LEFT JOIN taken ON true
            """;

        // Many jobs at once (the batch completer); each row keeps its own lease guard. The ids that come back completed.
        CompleteMany = $"""
            UPDATE {t} AS j SET {JobWrites.Complete("c.image_url", "j.meta || c.meta")}, updated_at = {now}
            FROM unnest(@ids, @attempts, @image_urls, @metas) AS c(id, attempt, image_url, meta)
            WHERE j.id = c.id AND j.status = 'processing' AND j.attempts = c.attempt AND j.next_check_at IS NULL
            RETURNING j.id{Notify("j.id")}
            """;
        Fail = GuardedUpdate(JobWrites.Fail, now) + (notifyStatus ? $" RETURNING 1{Notify("id")}" : string.Empty);

        // With the database clock, the back-off travels as a delay from the host's now, so clock skew cannot stretch it.
        Requeue = GuardedUpdate(JobWrites.Requeue(databaseClock ? "now() + @delay" : "@not_before"), now)
            + $" RETURNING pg_notify(@channel, @type)::text{Notify("id")}";
        Release = GuardedUpdate(JobWrites.Release(dialect), now) + $" RETURNING pg_notify(@channel, @type)::text{Notify("id")}";

        // One round trip: cancel when unfinished; otherwise read the row as it is.
        CancelOrGet = $"""
            WITH canceled AS ({Cancel(now)})
            SELECT *{Notify("id")} FROM canceled
            UNION ALL
            SELECT {columns}{(notifyStatus ? ", NULL" : string.Empty)} FROM {t} WHERE id = @id AND user_id = @user_id AND NOT EXISTS (SELECT 1 FROM canceled)
            """;
    }

    public string Claim { get; }

    public string ClaimLimited { get; }

    /// <summary>The advisory lock key that serialises limited claims of this table across hosts.</summary>
    public long ClaimLockKey { get; }

    public string RenewMany { get; }

    public string SetProviderJobId { get; }

    public string Park { get; }

    public string ClaimParked { get; }

    public string CompleteMany { get; }

    public string Fail { get; }

    public string Requeue { get; }

    public string Release { get; }

    public string CancelOrGet { get; }
}
