using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Npgsql;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Legacy;

namespace Stefna.Sdk.Postgres.Legacy;

/// <summary>
/// What every step of a legacy migration shares: the databases, the types and options, the migration lock, the
/// compiled classification SQL and the bookkeeping tables. The steps (<see cref="LegacyDryRun"/>,
/// <see cref="LegacyBatchedRun"/>, <see cref="LegacyVerification"/>, <see cref="LegacyDrop"/>, with
/// <see cref="LegacyImport"/> for a legacy table in another database) each take one.
/// </summary>
internal sealed class LegacyMigrationContext : IAsyncDisposable
{
    /// <summary>Key of the session advisory lock that lets one migration, verification or drop run at a time.</summary>
    internal const long LockKey = 0x5374_6566_6E61_0002;

    private LegacySql? _sql;

    public LegacyMigrationContext(NpgsqlDataSource target, IEnumerable<GenerationTypeDefinition> types, LegacyMigrationOptions options, TimeProvider time, ILogger logger)
    {
        Target = target;
        Types = [.. types];
        Options = options;
        if (Options.BatchSize < 1 || Options.MaxListedIds < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "BatchSize must be at least 1 and MaxListedIds not negative.");
        }

        LegacyTable = string.Join('.', (Options.LegacyTable ?? string.Empty).Split('.').Select(PostgresSchema.Identifier));
        Time = time;
        Logger = logger;
        Classifier = new LegacyClassifier(Types);
        if (Options.SourceConnectionString is { } source)
        {
            Source = NpgsqlDataSource.Create(source);
            var b = new NpgsqlConnectionStringBuilder(source);
            SourceLabel = $"{b.Host}:{b.Port}/{b.Database}/{Options.LegacyTable}";
        }
        else
        {
            SourceLabel = Options.LegacyTable!;
        }
    }

    /// <summary>The database of the dedicated tables (not disposed here).</summary>
    public NpgsqlDataSource Target { get; }

    /// <summary>The other database holding the legacy table, or <see langword="null"/> when it is <see cref="Target"/>.</summary>
    public NpgsqlDataSource? Source { get; }

    public IReadOnlyList<GenerationTypeDefinition> Types { get; }

    public LegacyMigrationOptions Options { get; }

    public TimeProvider Time { get; }

    public ILogger Logger { get; }

    /// <summary>The legacy table's quoted name.</summary>
    public string LegacyTable { get; }

    /// <summary>Where the legacy rows come from, as reports name it (no password).</summary>
    public string SourceLabel { get; }

    public LegacyClassifier Classifier { get; }

    /// <summary>Runs one step on a connection of the target holding the migration lock, released afterwards.</summary>
    public async Task<T> LockedAsync<T>(Func<NpgsqlConnection, Task<T>> step, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(Target, cancellationToken).ConfigureAwait(false);
        await LockAsync(connection, cancellationToken).ConfigureAwait(false);
        try
        {
            return await step(connection).ConfigureAwait(false);
        }
        finally
        {
            await UnlockAsync(connection).ConfigureAwait(false);
        }
    }

    /// <summary>Applies the Stefna schema migrations of the types (the tables the migration writes).</summary>
    public Task<int> MigrateSchemaAsync(CancellationToken cancellationToken) =>
        PostgresSchema.MigrateAsync(Target, Types, Logger, cancellationToken);

    /// <summary>The classification SQL, compiled once over the UUIDv5 function of an installed extension.</summary>
    public async Task<LegacySql> PrepareSqlAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        if (_sql is not null)
        {
            return _sql;
        }

        var encoding = await ScalarAsync<string>(connection, "SHOW server_encoding", cancellationToken).ConfigureAwait(false);
        string? expression = null;
        foreach (var extension in (string[])["uuid-ossp", "pgcrypto"])
        {
            if (extension == "uuid-ossp" && encoding != "UTF8")
            {
                continue; // uuid_generate_v5 hashes the database encoding's bytes; the ids are defined over UTF-8.
            }

            var schema = await ExtensionSchemaAsync(connection, extension, cancellationToken).ConfigureAwait(false);
            if (schema is null)
            {
                try
                {
                    await ExecuteAsync(connection, $"CREATE EXTENSION IF NOT EXISTS \"{extension}\"", cancellationToken).ConfigureAwait(false);
                    schema = await ExtensionSchemaAsync(connection, extension, cancellationToken).ConfigureAwait(false);
                }
                catch (PostgresException ex)
                {
                    LegacyLog.ExtensionUnavailable(Logger, extension, ex.MessageText);
                }
            }

            if (schema is not null)
            {
                expression = LegacySql.UuidV5Expression(extension, schema);
                break;
            }
        }

        if (expression is null)
        {
            throw new LegacyMigrationException("The legacy migration needs the uuid-ossp or pgcrypto extension to derive ids (UUIDv5) in SQL, and neither is installed nor can be created by this user. Ask the database owner: CREATE EXTENSION \"uuid-ossp\";");
        }

        return _sql = new LegacySql(Classifier, expression);
    }

    /// <summary>The bookkeeping tables: runs, their batches, the rows written, verifications.</summary>
    public static async Task EnsureStateTablesAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
        await ExecuteAsync(connection, $"""
            CREATE TABLE IF NOT EXISTS {LegacySql.RunsTable} (
                run_id bigserial PRIMARY KEY, source text NOT NULL, types text[] NOT NULL, batch_size integer NOT NULL,
                total bigint NOT NULL, batches integer NOT NULL, catalog_added integer NOT NULL,
                started_at timestamptz NOT NULL, finished_at timestamptz, report jsonb);
            CREATE TABLE IF NOT EXISTS {LegacySql.BatchesTable} (
                run_id bigint NOT NULL REFERENCES {LegacySql.RunsTable} ON DELETE CASCADE, batch_no integer NOT NULL, type text NOT NULL,
                classified bigint NOT NULL, migrated bigint NOT NULL, PRIMARY KEY (run_id, batch_no, type));
            CREATE TABLE IF NOT EXISTS {LegacySql.WrittenTable} (type text NOT NULL, id uuid NOT NULL);
            CREATE TABLE IF NOT EXISTS {LegacySql.VerificationsTable} (
                id bigserial PRIMARY KEY, source text NOT NULL, verified_at timestamptz NOT NULL, legacy_rows bigint NOT NULL,
                fingerprint text NOT NULL, passed boolean NOT NULL, differences bigint NOT NULL, dropped_at timestamptz);
            """, cancellationToken).ConfigureAwait(false);

    /// <summary>The tables the connection's search path sees.</summary>
    public static async Task<HashSet<string>> ExistingTablesAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var tables = new HashSet<string>(StringComparer.Ordinal);
        await using var command = new NpgsqlCommand("SELECT c.relname FROM pg_class c WHERE c.relkind IN ('r', 'p') AND pg_table_is_visible(c.oid)", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            tables.Add(reader.GetString(0));
        }

        return tables;
    }

    /// <summary>Opens a connection for migration work. JIT is off: compiling the large classification expressions
    /// costs more than it saves, even over a million rows.</summary>
    public static async Task<NpgsqlConnection> OpenAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await ExecuteAsync(connection, "SET jit = off", cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public static async Task<int> ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        return (T)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Source is not null)
        {
            await Source.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task LockAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        // A killed run's server session may still be finishing its last statement: wait for it rather than fail.
        var deadline = Stopwatch.GetTimestamp() + (long)(Options.LockTimeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock(@key)", connection);
            command.Parameters.Add(new NpgsqlParameter<long>("key", LockKey));
            if ((bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
            {
                return;
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new LegacyMigrationException($"Another legacy migration, verification or drop is running against this database (it holds the migration lock); waited {Options.LockTimeout.TotalSeconds:0} s.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), Time, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task UnlockAsync(NpgsqlConnection connection)
    {
        try
        {
            await using var command = new NpgsqlCommand("SELECT pg_advisory_unlock_all()", connection);
            await command.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (NpgsqlException)
        {
            // The connection broke: the server released the session lock with it.
        }
        catch (InvalidOperationException)
        {
            // The connection is in a state that cannot run commands (e.g. a broken COPY): closing it releases the lock.
        }
    }

    private static async Task<string?> ExtensionSchemaAsync(NpgsqlConnection connection, string extension, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = @name", connection);
        command.Parameters.Add(new NpgsqlParameter<string>("name", extension));
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }
}
