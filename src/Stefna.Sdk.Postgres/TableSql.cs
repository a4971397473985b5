using System.Text;
using Stefna.Sdk.Generators;

namespace Stefna.Sdk.Postgres;

/// <summary>The statements of one type table, built once from its validated definition.</summary>
internal sealed class TableSql
{
    // Column order of every SELECT/RETURNING list; Read() relies on it.
    internal const string CommonColumns =
        "id, user_id, status, prompt, preset, source_image_url, image_url, tags, meta, error_code, error_message, " +
        "attempts, lease_until, provider_job_id, idempotency_key, legacy_id, created_at, updated_at, next_check_at, provider_deadline";

    internal const int CommonColumnCount = 20;

    public TableSql(GenerationTypeDefinition definition, bool databaseClock, bool notifyStatus = false)
    {
        Definition = definition;
        var t = PostgresSchema.Identifier(definition.TableName);
        var extras = definition.ExtraColumns.Select(PostgresSchema.Identifier).ToArray();
        var columns = CommonColumns + string.Concat(extras.Select(c => ", " + c));
        Columns = columns;

        // Every status change tells every host's watchers, in the statement that makes it (sent on commit, only for rows
        // it changed). Parameters @status_channel and @status_type; see PostgresMediaStore.AddStatusParameters.
        string Notify(string id) => notifyStatus ? $", pg_notify(@status_channel, @status_type || ':' || {id}::text)::text" : string.Empty;

        // The clock for leases and updated_at: the database's, so skewed hosts agree, or the host's (@now).
        var now = databaseClock ? "now()" : "@now";

        var insertColumns = new StringBuilder("id, user_id, status, prompt, preset, source_image_url, tags, meta, idempotency_key, created_at, updated_at");
        var insertValues = new StringBuilder("@id, @user_id, 'queued', @prompt, @preset, @source_image_url, @tags, @meta, @idempotency_key, @created_at, @created_at");
        for (var i = 0; i < extras.Length; i++)
        {
            insertColumns.Append(", ").Append(extras[i]);
            insertValues.Append(", @x").Append(i);
        }

        // The notification rides on RETURNING: it is sent only when a row was inserted, on commit.
        Insert = $"""
            INSERT INTO {t} ({insertColumns}) VALUES ({insertValues})
            ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            RETURNING {columns}, pg_notify(@channel, @type)::text
            """;
        FindByIdempotencyKey = $"SELECT {columns} FROM {t} WHERE user_id = @user_id AND idempotency_key = @idempotency_key";
        Get = $"SELECT {columns} FROM {t} WHERE id = @id AND user_id = @user_id";

        // One statement: pick up to @limit of the oldest claimable rows, skipping rows other workers hold locked, and
        // take them (River's JobGetAvailable shape). The CTE is MATERIALIZED so the locking pick runs exactly once. A
        // row whose lease expired after the last allowed attempt (its worker stopped every time) is failed instead of
        // claimed; the caller sees it come back failed and claims again for the places it took. The CASEs read the row
        // as it was.
        const string exhausted = "status = 'processing' AND attempts >= @max_attempts";
        string ClaimStatement(string limit) => $"""
            WITH picked AS MATERIALIZED (
                SELECT id FROM {t}
                WHERE {PostgresSchema.UnfinishedPredicate}
                  AND ((status = 'queued' AND (lease_until IS NULL OR lease_until <= {now}))
                    OR (status = 'processing' AND lease_until < {now}))
                ORDER BY created_at, id
                LIMIT {limit}
                FOR UPDATE SKIP LOCKED)
            UPDATE {t} SET
                status = CASE WHEN {exhausted} THEN 'failed' ELSE 'processing' END,
                attempts = CASE WHEN {exhausted} THEN attempts ELSE attempts + 1 END,
                lease_until = CASE WHEN {exhausted} THEN NULL ELSE {now} + @lease END,
                error_code = CASE WHEN {exhausted} THEN @error_code ELSE error_code END,
                error_message = CASE WHEN {exhausted} THEN @error_message ELSE error_message END,
                updated_at = {now}
            WHERE id IN (SELECT id FROM picked)
            RETURNING {columns}{Notify("id")}
            """;
        Claim = ClaimStatement("@limit");

        // With a limit of jobs outstanding at the provider: no more than it leaves room for. Run under the type's advisory
        // lock in its own transaction, so the count sees every other host's committed claim.
        ClaimLimited = ClaimStatement($"GREATEST(0, LEAST(@limit, @max_outstanding - (SELECT count(*) FROM {t} WHERE status = 'processing')))");
        ClaimLockKey = BitConverter.ToInt64(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes("stefna-claim:" + definition.TableName)), 0);

        // Every lease the host holds on this type in one statement; the ids that come back were renewed, the rest lost.
        RenewMany = $"""
            UPDATE {t} AS j SET lease_until = {now} + @lease, updated_at = {now}
            FROM unnest(@ids, @attempts) AS l(id, attempt)
            WHERE j.id = l.id AND j.status = 'processing' AND j.attempts = l.attempt AND j.next_check_at IS NULL
            RETURNING j.id
            """;

        // The lease guard: only the claim that made this attempt may write, while it runs. A parked row (next_check_at
        // set) has no holder, so nothing writes to it under its old lease.
        const string guard = "WHERE id = @id AND status = 'processing' AND attempts = @attempt AND next_check_at IS NULL";
        SetProviderJobId = $"UPDATE {t} SET provider_job_id = @provider_job_id, updated_at = {now} {guard}";

        // Parking gives up the lease; the next check travels as a delay from the host's now with the database clock.
        Park = $"""
            UPDATE {t} SET provider_job_id = @provider_job_id, next_check_at = {(databaseClock ? "now() + @delay" : "@next_check_at")},
                provider_deadline = @deadline, lease_until = NULL, updated_at = {now}
            {guard}
            """;

        // Due parked rows, earliest first, skipping rows another poller holds locked, leased without spending an
        // attempt. The outer LEFT JOIN always yields one row, so the same round trip also tells how far away the
        // earliest parked row left behind is (read in the same snapshot: rows taken here still show as due, hence > now).
        ClaimParked = $"""
            WITH picked AS MATERIALIZED (
                SELECT id FROM {t}
                WHERE status = 'processing' AND next_check_at <= {now}
                ORDER BY next_check_at, id
                LIMIT @limit
                FOR UPDATE SKIP LOCKED),
            taken AS (
                UPDATE {t} SET lease_until = {now} + @lease, next_check_at = NULL, updated_at = {now}
                WHERE id IN (SELECT id FROM picked)
                RETURNING {columns})
            SELECT (SELECT min(next_check_at) FROM {t} WHERE status = 'processing' AND next_check_at > {now}) - {now} AS next_in, taken.*
            FROM (SELECT 1) AS one LEFT JOIN taken ON true
            """;
        // Many jobs at once (the batch completer); each row keeps its own lease guard. The ids that come back completed.
        CompleteMany = $"""
            UPDATE {t} AS j SET status = 'completed', image_url = c.image_url, meta = j.meta || c.meta, error_code = NULL, error_message = NULL,
                lease_until = NULL, updated_at = {now}
            FROM unnest(@ids, @attempts, @image_urls, @metas) AS c(id, attempt, image_url, meta)
            WHERE j.id = c.id AND j.status = 'processing' AND j.attempts = c.attempt AND j.next_check_at IS NULL
            RETURNING j.id{Notify("j.id")}
            """;
        Fail = $"UPDATE {t} SET status = 'failed', error_code = @error_code, error_message = @error_message, lease_until = NULL, updated_at = {now} {guard}"
            + (notifyStatus ? $" RETURNING 1{Notify("id")}" : string.Empty);
        Requeue = $"""
            UPDATE {t} SET status = 'queued', error_code = @error_code, error_message = @error_message,
                lease_until = {(databaseClock ? "now() + @delay" : "@not_before")}, updated_at = {now}
            {guard}
            RETURNING pg_notify(@channel, @type)::text{Notify("id")}
            """;

        // A stopping worker's hand-back: queued, claimable at once, and the claim's attempt returned.
        Release = $"""
            UPDATE {t} SET status = 'queued', attempts = GREATEST(attempts - 1, 0), lease_until = NULL, updated_at = {now}
            {guard}
            RETURNING pg_notify(@channel, @type)::text{Notify("id")}
            """;

        // One round trip: cancel when unfinished; otherwise read the row as it is.
        Cancel = $"""
            WITH canceled AS (
                UPDATE {t} SET status = 'canceled', lease_until = NULL, next_check_at = NULL, updated_at = {now}
                WHERE id = @id AND user_id = @user_id AND {PostgresSchema.UnfinishedPredicate}
                RETURNING {columns})
            SELECT *{Notify("id")} FROM canceled
            UNION ALL
            SELECT {columns}{(notifyStatus ? ", NULL" : string.Empty)} FROM {t} WHERE id = @id AND user_id = @user_id AND NOT EXISTS (SELECT 1 FROM canceled)
            """;
        CountUnfinished = $"SELECT count(*) FROM {t} WHERE {PostgresSchema.UnfinishedPredicate}";

        var extraJson = extras.Length == 0
            ? "NULL::jsonb"
            : "jsonb_build_object(" + string.Join(", ", definition.ExtraColumns.Select((c, i) => $"@fx_{{0}}_{i}, {extras[i]}")) + ")";
        FeedSelectTemplate = $"SELECT @ft_{{0}}::text AS type, {CommonColumns}, {extraJson} AS extra FROM {t}";
    }

    public GenerationTypeDefinition Definition { get; }

    public string Columns { get; }

    public string Insert { get; }

    public string FindByIdempotencyKey { get; }

    public string Get { get; }

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

    public string Cancel { get; }

    public string CountUnfinished { get; }

    /// <summary>The feed's per-table select; <c>{0}</c> is the table's position in the query (for its parameters).</summary>
    public string FeedSelectTemplate { get; }
}
