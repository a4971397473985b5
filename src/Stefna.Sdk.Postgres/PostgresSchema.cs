using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Stefna.Sdk.Generators;

namespace Stefna.Sdk.Postgres;

/// <summary>
/// Versioned schema migrations. Every run takes one transaction-scoped advisory lock, so hosts starting together
/// apply each migration once, one after the other; the history lives in <c>stefna_schema_migrations</c>
/// (scope, version). Scope <c>core</c> holds the shared objects, scope <c>table:&lt;name&gt;</c> each type table.
/// Identifiers come only from validated definitions (see <see cref="Identifier"/>); every value is a parameter.
/// </summary>
internal static class PostgresSchema
{
    /// <summary>The key of the advisory lock that serialises migrations (any stable 64-bit number).</summary>
    internal const long MigrationLockKey = 0x5374_6566_6E61_0001; // "Stefna" + 1

    internal const string HistoryTable = "stefna_schema_migrations";

    /// <summary>The statuses a worker may still claim (partial claim index; the core's predicate, text unchanged since migration 1).</summary>
    internal const string UnfinishedPredicate = Relational.JobSchema.Unfinished;

    private static readonly (int Version, string Name, string Sql)[] CoreMigrations =
    [
        (1, "type registry", """
            CREATE TABLE IF NOT EXISTS stefna_types (
                name text PRIMARY KEY,
                table_name text NOT NULL UNIQUE,
                display_name text NOT NULL,
                registered_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            )
            """),
        (2, "webhook outbox", PostgresMediaStore.CreateOutboxSql),
        (3, "webhook outbox prune index", PostgresMediaStore.CreateOutboxFinishedIndexSql),
    ];

    /// <summary>The migrations of one type table, in order. Each is idempotent on its own, so a table that exists
    /// without history (created by hand or by an older tool) is adopted rather than failed on.</summary>
    private static IEnumerable<(int Version, string Name, string Sql)> TableMigrations(string table)
    {
        var t = Identifier(table);
        yield return (1, "create table", $"""
            CREATE TABLE IF NOT EXISTS {t} (
                id uuid PRIMARY KEY,
                user_id text NOT NULL,
                status text NOT NULL DEFAULT 'queued'
                    CONSTRAINT {Identifier(Name(table, "status_check"))} CHECK (status IN ('queued','processing','completed','failed','canceled')),
                prompt text,
                preset text,
                source_image_url text,
                image_url text,
                tags text[] NOT NULL DEFAULT ARRAY[]::text[],
                meta jsonb NOT NULL DEFAULT jsonb_build_object(),
                error_code text,
                error_message text,
                attempts integer NOT NULL DEFAULT 0,
                lease_until timestamptz,
                provider_job_id text,
                idempotency_key text,
                legacy_id text,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX IF NOT EXISTS {Identifier(Name(table, "claim_idx"))} ON {t} (created_at, id) WHERE {UnfinishedPredicate};
            CREATE INDEX IF NOT EXISTS {Identifier(Name(table, "feed_idx"))} ON {t} (user_id, created_at DESC, id DESC);
            CREATE INDEX IF NOT EXISTS {Identifier(Name(table, "tags_idx"))} ON {t} USING gin (tags);
            CREATE UNIQUE INDEX IF NOT EXISTS {Identifier(Name(table, "idempotency_idx"))} ON {t} (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
            CREATE UNIQUE INDEX IF NOT EXISTS {Identifier(Name(table, "legacy_id_idx"))} ON {t} (legacy_id) WHERE legacy_id IS NOT NULL;
            """);

        // Parked jobs (an asynchronous provider accepted them): when to check next and until when to wait. Nullable
        // columns without a default, so adding them rewrites no row; the partial index holds parked rows only.
        yield return (2, "parked jobs", $"""
            ALTER TABLE {t} ADD COLUMN IF NOT EXISTS next_check_at timestamptz, ADD COLUMN IF NOT EXISTS provider_deadline timestamptz;
            CREATE INDEX IF NOT EXISTS {Identifier(Name(table, "parked_idx"))} ON {t} (next_check_at) WHERE next_check_at IS NOT NULL;
            """);
    }

    /// <summary>Applies every missing migration for the given types under the advisory lock.</summary>
    /// <returns>How many versioned migrations were applied.</returns>
    public static async Task<int> MigrateAsync(NpgsqlDataSource dataSource, IReadOnlyList<GenerationTypeDefinition> types, ILogger logger, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        // Lock first: even CREATE TABLE IF NOT EXISTS races with itself in PostgreSQL (duplicate pg_type rows).
        await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(@key)", cancellationToken, ("key", MigrationLockKey)).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, $"""
            CREATE TABLE IF NOT EXISTS {HistoryTable} (
                scope text NOT NULL,
                version integer NOT NULL,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (scope, version)
            )
            """, cancellationToken).ConfigureAwait(false);

        var applied = await ReadHistoryAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        var count = 0;
        count += await ApplyAsync(connection, transaction, "core", CoreMigrations, applied, logger, cancellationToken).ConfigureAwait(false);
        foreach (var type in types)
        {
            count += await ApplyAsync(connection, transaction, "table:" + type.TableName, TableMigrations(type.TableName), applied, logger, cancellationToken).ConfigureAwait(false);
            await ReconcileTableAsync(connection, transaction, type, cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        Log.SchemaReady(logger, connection.Database, string.Join(", ", types.Select(t => t.TableName)), count, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return count;
    }

    /// <summary>Checks that the tables of the given types exist (for hosts that do not migrate themselves).</summary>
    public static async Task VerifyAsync(NpgsqlDataSource dataSource, IReadOnlyList<GenerationTypeDefinition> types, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT t FROM unnest(@tables) AS t WHERE to_regclass(t) IS NULL");
        command.Parameters.Add(new NpgsqlParameter<string[]>("tables", [.. types.Select(t => t.TableName)]));
        var missing = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            missing.Add(reader.GetString(0));
        }

        if (missing.Count > 0)
        {
            throw new InvalidOperationException($"The PostgreSQL schema is not migrated: missing tables {string.Join(", ", missing)}. Run PostgresMediaStore.MigrateAsync (or enable MigrateOnInitialize).");
        }
    }

    // Steps that follow the definition as it is today rather than a version: new type columns, catalogue rows and
    // the type registry row. Each is idempotent and cheap.
    private static async Task ReconcileTableAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, GenerationTypeDefinition type, CancellationToken cancellationToken)
    {
        var table = Identifier(type.TableName);

        // ALTER TABLE takes an ACCESS EXCLUSIVE lock even when the column exists (ADD COLUMN IF NOT EXISTS decides
        // only after locking), which would queue every claim and read of a live table behind any open transaction on
        // it during a rolling start. So look in the catalogue first, and alter only for a column that is missing.
        if (type.ExtraColumns.Count > 0)
        {
            var existing = new HashSet<string>(StringComparer.Ordinal);
            await using (var columns = new NpgsqlCommand("SELECT attname::text FROM pg_attribute WHERE attrelid = to_regclass(@table) AND attnum > 0 AND NOT attisdropped", connection, transaction))
            {
                columns.Parameters.Add(new NpgsqlParameter<string>("table", type.TableName));
                await using var reader = await columns.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    existing.Add(reader.GetString(0));
                }
            }

            foreach (var column in type.ExtraColumns.Where(c => !existing.Contains(c)))
            {
                await ExecuteAsync(connection, transaction, $"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {Identifier(column)} text", cancellationToken).ConfigureAwait(false);
            }
        }

        await ExecuteAsync(connection, transaction, """
            INSERT INTO stefna_types (name, table_name, display_name) VALUES (@name, @table, @display)
            ON CONFLICT (name) DO UPDATE SET table_name = excluded.table_name, display_name = excluded.display_name, updated_at = now()
            WHERE stefna_types.table_name IS DISTINCT FROM excluded.table_name OR stefna_types.display_name IS DISTINCT FROM excluded.display_name
            """, cancellationToken, ("name", type.Name), ("table", type.TableName), ("display", type.DisplayName)).ConfigureAwait(false);

        if (type.Catalog is not { } catalog)
        {
            return;
        }

        var catalogTable = Identifier(catalog.TableName);
        await ExecuteAsync(connection, transaction, $"""
            CREATE TABLE IF NOT EXISTS {catalogTable} (
                key text PRIMARY KEY,
                name text NOT NULL,
                description text NOT NULL DEFAULT '',
                retired boolean NOT NULL DEFAULT false
            )
            """, cancellationToken).ConfigureAwait(false);

        // Entries no longer listed are retired, not deleted: old jobs still reference them.
        await ExecuteAsync(connection, transaction, $"""
            INSERT INTO {catalogTable} (key, name, description, retired)
            SELECT k, n, d, false FROM unnest(@keys, @names, @descriptions) AS e(k, n, d)
            ON CONFLICT (key) DO UPDATE SET name = excluded.name, description = excluded.description, retired = false
            WHERE {catalogTable}.name IS DISTINCT FROM excluded.name OR {catalogTable}.description IS DISTINCT FROM excluded.description OR {catalogTable}.retired;
            """, cancellationToken,
            ("keys", catalog.Entries.Select(e => e.Key).ToArray()),
            ("names", catalog.Entries.Select(e => e.Name).ToArray()),
            ("descriptions", catalog.Entries.Select(e => e.Description ?? string.Empty).ToArray())).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, $"UPDATE {catalogTable} SET retired = true WHERE NOT retired AND NOT (key = ANY(@keys))", cancellationToken,
            ("keys", catalog.Entries.Select(e => e.Key).ToArray())).ConfigureAwait(false);

        var constraint = Name(type.TableName, "preset_fk");
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_constraint WHERE conname = @name AND conrelid = to_regclass(@table)", connection, transaction);
        exists.Parameters.Add(new NpgsqlParameter<string>("name", constraint));
        exists.Parameters.Add(new NpgsqlParameter<string>("table", type.TableName));
        if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
        {
            await ExecuteAsync(connection, transaction, $"ALTER TABLE {table} ADD CONSTRAINT {Identifier(constraint)} FOREIGN KEY (preset) REFERENCES {catalogTable} (key)", cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<int> ApplyAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        string scope,
        IEnumerable<(int Version, string Name, string Sql)> migrations,
        HashSet<(string Scope, int Version)> applied,
        ILogger logger,
        CancellationToken cancellationToken)
    {
        var count = 0;
        foreach (var (version, name, sql) in migrations)
        {
            if (applied.Contains((scope, version)))
            {
                continue;
            }

            await ExecuteAsync(connection, transaction, sql, cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction, $"INSERT INTO {HistoryTable} (scope, version, name) VALUES (@scope, @version, @name)", cancellationToken,
                ("scope", scope), ("version", version), ("name", name)).ConfigureAwait(false);
            applied.Add((scope, version));
            Log.MigrationApplied(logger, scope, version, name, connection.Database);
            count++;
        }

        return count;
    }

    private static async Task<HashSet<(string, int)>> ReadHistoryAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var applied = new HashSet<(string, int)>();
        await using var command = new NpgsqlCommand($"SELECT scope, version FROM {HistoryTable}", connection, transaction);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            applied.Add((reader.GetString(0), reader.GetInt32(1)));
        }

        return applied;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.Add(value is string[] array
                ? new NpgsqlParameter(name, NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = array }
                : new NpgsqlParameter(name, value));
        }

        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Quotes an identifier after checking it is one of ours (the relational core's check, shared with SQLite).</summary>
    internal static string Identifier(string name) => Relational.RelationalDialect.Quote(name);

    /// <summary>An object name derived from a table name; shortened with a hash when it would pass PostgreSQL's
    /// 63-byte limit (which would otherwise truncate silently and could make two names collide).</summary>
    internal static string Name(string table, string suffix)
    {
        var name = table + "_" + suffix;
        if (name.Length <= 63)
        {
            return name;
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..8];
        return table[..(63 - suffix.Length - 10)] + "_" + hash + "_" + suffix;
    }
}
