using System.Data;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Legacy;

namespace Stefna.Sdk.Postgres.Legacy;

/// <summary>
/// Moves the rows of the legacy <c>media_assets</c> table into the dedicated table of their generation type, set-based
/// inside PostgreSQL, in batches that each commit on their own: re-running never migrates a row twice and a run
/// killed at any moment finishes, when run again, with exactly the result of an uninterrupted run.
/// </summary>
/// <remarks>
/// <para>A run first freezes its input in <c>stefna_legacy_staging</c> (one transaction): every legacy row with its
/// row id (<see cref="LegacyIds"/>), its class (<see cref="LegacyClassifier"/> compiled to SQL), whether it is the one
/// row migrated for its id (repeated ids: the oldest, then by content) and whether the new system already held it.
/// Each batch then inserts one range of staging rows into every type table and records its counts in
/// <c>stefna_legacy_batches</c>, in the same transaction. The report is the sum of those records, so it is the same
/// whether or not the run was interrupted, and it always balances.</para>
/// <para>Mapping: <c>url</c> → <c>image_url</c>, <c>preset_key</c> → <c>preset</c> (a catalogue key written another
/// way as the catalogue's key, the original kept in <c>meta.legacy_preset_key</c>; see
/// <see cref="LegacyClassification.Preset"/>), <c>prompt</c>, <c>meta</c> (null as <c>{}</c>), <c>created_at</c> as they are; <c>user_id</c> verbatim (user ids are TEXT in the new tables too);
/// <c>status</c> completed, <c>attempts</c> 0, tags the type's name plus the strings of a <c>meta.tags</c> array, a
/// type's own columns from the <c>meta</c> key of the same name; the original id in <c>legacy_id</c>.</para>
/// </remarks>
public sealed class LegacyMigrator : IAsyncDisposable
{
    /// <summary>Key of the session advisory lock that lets one migration, verification or drop run at a time.</summary>
    internal const long LockKey = 0x5374_6566_6E61_0002;

    private readonly NpgsqlDataSource _target;
    private readonly NpgsqlDataSource? _source;
    private readonly IReadOnlyList<GenerationTypeDefinition> _types;
    private readonly LegacyMigrationOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _legacyTable;
    private LegacySql? _sql;

    /// <summary>Creates a migrator.</summary>
    /// <param name="target">The database of the dedicated tables (and of the legacy table unless
    /// <see cref="LegacyMigrationOptions.SourceConnectionString"/> names another). Not disposed by the migrator.</param>
    /// <param name="types">The registered generation types; their <see cref="GenerationTypeDefinition.LegacyRule"/>s classify rows.</param>
    /// <param name="options">Options, or the defaults.</param>
    /// <param name="time">The clock (run start times).</param>
    /// <param name="logger">The logger.</param>
    public LegacyMigrator(NpgsqlDataSource target, IEnumerable<GenerationTypeDefinition> types, LegacyMigrationOptions? options = null, TimeProvider? time = null, ILogger<LegacyMigrator>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(types);
        _target = target;
        _types = [.. types];
        _options = options ?? new LegacyMigrationOptions();
        if (_options.BatchSize < 1 || _options.MaxListedIds < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "BatchSize must be at least 1 and MaxListedIds not negative.");
        }

        _legacyTable = string.Join('.', (_options.LegacyTable ?? string.Empty).Split('.').Select(PostgresSchema.Identifier));
        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        Classifier = new LegacyClassifier(_types);
        if (_options.SourceConnectionString is { } source)
        {
            _source = NpgsqlDataSource.Create(source);
            var b = new NpgsqlConnectionStringBuilder(source);
            SourceLabel = $"{b.Host}:{b.Port}/{b.Database}/{_options.LegacyTable}";
        }
        else
        {
            SourceLabel = _options.LegacyTable!;
        }
    }

    /// <summary>The classifier built from the types' rules (for explanations of single rows).</summary>
    public LegacyClassifier Classifier { get; }

    /// <summary>Where the legacy rows come from, as reports name it (no password).</summary>
    public string SourceLabel { get; }

    /// <summary>Reports what a run would do, writing nothing: everything runs in one transaction that is rolled back
    /// (read-only when the legacy table is in the target database; with another source database, its rows are copied
    /// into a session temp table that goes with the transaction). Takes the migration lock like every other step.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The report a run started now would return.</returns>
    /// <exception cref="LegacyMigrationException">Another migration, verification or drop holds the lock for longer than
    /// <see cref="LegacyMigrationOptions.LockTimeout"/>.</exception>
    public async Task<MigrationReport> DryRunAsync(CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        await using var connection = await OpenAsync(_target, cancellationToken).ConfigureAwait(false);
        await LockAsync(connection, cancellationToken).ConfigureAwait(false);
        try
        {
            return await DryRunCoreAsync(connection, started, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await UnlockAsync(connection).ConfigureAwait(false);
        }
    }

    private async Task<MigrationReport> DryRunCoreAsync(NpgsqlConnection connection, long started, CancellationToken cancellationToken)
    {
        var sql = await PrepareSqlAsync(connection, cancellationToken).ConfigureAwait(false);
        var source = _legacyTable;
        await using var readOnly = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (_source is not null)
        {
            await ImportAsync(connection, null, cancellationToken).ConfigureAwait(false);
            source = LegacySql.ImportTable;
        }
        else
        {
            await ExecuteAsync(connection, "SET TRANSACTION READ ONLY", cancellationToken).ConfigureAwait(false);
        }

        var existing = await ExistingTablesAsync(connection, cancellationToken).ConfigureAwait(false);

        // Keys a catalogue already knows: the definition's entries and, when the table exists, its rows.
        var known = new List<string[]>();
        foreach (var type in sql.Types)
        {
            var keys = new HashSet<string>(type.Catalog?.Entries.Select(e => e.Key) ?? [], StringComparer.Ordinal);
            if (type.Catalog is { } catalog && existing.Contains(catalog.TableName))
            {
                await using var read = new NpgsqlCommand($"SELECT key FROM {PostgresSchema.Identifier(catalog.TableName)}", connection);
                await using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    keys.Add(reader.GetString(0));
                }
            }

            known.Add([.. keys]);
        }

        var catalogCounts = string.Concat(sql.Types.Select((t, i) => t.Catalog is null
            ? string.Empty
            : $", count(DISTINCT {sql.Preset(t, "r")}) FILTER (WHERE r.cls = {i} AND r.winner AND NOT r.present AND r.preset_key IS NOT NULL AND NOT ({sql.Preset(t, "r")} = ANY(@known{i})))"));
        var query = $"""
            SELECT r.cls, count(*), count(*) FILTER (WHERE r.winner AND NOT r.present),
                   (array_agg(r.id ORDER BY r.id COLLATE "C") FILTER (WHERE r.cls < 0))[1:@max]{catalogCounts}
            FROM (SELECT q.*, (q.winner AND {sql.PresentPredicate("q", existing)}) AS present FROM ({sql.RankedSelect(source)}) q) r
            GROUP BY GROUPING SETS ((r.cls), ())
            """;
        await using var command = new NpgsqlCommand(query, connection);
        command.CommandTimeout = 0;
        command.Parameters.Add(new NpgsqlParameter<int>("max", _options.MaxListedIds));
        for (var i = 0; i < known.Count; i++)
        {
            command.Parameters.Add(new NpgsqlParameter<string[]>("known" + i.ToString(CultureInfo.InvariantCulture), known[i]));
        }

        var perClass = new Dictionary<int, (long Count, long Migrated, string?[] Ids)>();
        var catalogAdded = 0;
        long total = 0;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (reader.IsDBNull(0))
                {
                    // The grand-total row.
                    total = reader.GetInt64(1);
                    for (var c = 4; c < reader.FieldCount; c++)
                    {
                        catalogAdded += (int)reader.GetInt64(c);
                    }

                    continue;
                }

                var ids = reader.IsDBNull(3) ? [] : reader.GetFieldValue<string?[]>(3);
                perClass[reader.GetInt32(0)] = (reader.GetInt64(1), reader.GetInt64(2), ids);
            }
        }

        await readOnly.RollbackAsync(cancellationToken).ConfigureAwait(false);
        var report = new MigrationReport
        {
            IsDryRun = true,
            Source = SourceLabel,
            Total = total,
            Types = [.. sql.Types.Select((t, i) => perClass.TryGetValue(i, out var c)
                ? new MigrationTypeCount(t.Name, t.TableName, c.Migrated, c.Count - c.Migrated)
                : new MigrationTypeCount(t.Name, t.TableName, 0, 0))],
            UnclassifiedRows = [.. perClass.Where(p => p.Key < 0).OrderByDescending(p => p.Key)
                .Select(p => new UnclassifiedRows((LegacyUnclassifiedReason)(-p.Key), p.Value.Count, p.Value.Ids))],
            CatalogEntriesAdded = catalogAdded,
            Elapsed = Stopwatch.GetElapsedTime(started),
        };
        report.EnsureBalanced();
        return report;
    }

    /// <summary>Runs the migration, or finishes one an earlier call started and did not finish.</summary>
    /// <param name="progress">Receives progress after the staging step and after each batch.</param>
    /// <param name="cancellationToken">Cancels the call; committed batches stay, and the next call resumes.</param>
    /// <returns>The run's report (the same whether or not the run was interrupted and resumed).</returns>
    /// <exception cref="LegacyMigrationException">Another migration holds the lock, or an unfinished run was started
    /// with other types or another source.</exception>
    public async Task<MigrationReport> RunAsync(IProgress<MigrationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        await using var connection = await OpenAsync(_target, cancellationToken).ConfigureAwait(false);
        await LockAsync(connection, cancellationToken).ConfigureAwait(false);
        try
        {
            await PostgresSchema.MigrateAsync(_target, _types, _logger, cancellationToken).ConfigureAwait(false);
            var sql = await PrepareSqlAsync(connection, cancellationToken).ConfigureAwait(false);
            await EnsureStateTablesAsync(connection, cancellationToken).ConfigureAwait(false);

            var run = await FindOpenRunAsync(connection, cancellationToken).ConfigureAwait(false);
            var resumed = run is not null;
            if (run is { } open)
            {
                var names = sql.Types.Select(t => t.Name).ToArray();
                if (!open.Types.SequenceEqual(names, StringComparer.Ordinal) || open.Source != SourceLabel)
                {
                    throw new LegacyMigrationException($"An unfinished legacy migration (run {open.RunId}) was started from {open.Source} with the types {string.Join(", ", open.Types)}; run it again with the same source and types to finish it.");
                }

                LegacyLog.Resuming(_logger, open.RunId, open.DoneBatches, open.Batches);
            }
            else
            {
                progress?.Report(new MigrationProgress("staging", 0, 0, Stopwatch.GetElapsedTime(started)));
                run = await StartRunAsync(connection, sql, cancellationToken).ConfigureAwait(false);
                LegacyLog.Started(_logger, run.Value.RunId, SourceLabel, run.Value.Total, run.Value.Batches);
            }

            var r = run!.Value;
            var batchSql = sql.InsertBatch();
            var typeNames = sql.Types.Select(t => t.Name).ToArray();
            progress?.Report(new MigrationProgress("migrating", Math.Min(r.Total, (long)r.DoneBatches * r.BatchSize), r.Total, Stopwatch.GetElapsedTime(started)));
            for (var batch = r.DoneBatches + 1; batch <= r.Batches; batch++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                await RunBatchAsync(connection, batchSql, r, batch, typeNames, cancellationToken).ConfigureAwait(false);
                progress?.Report(new MigrationProgress("migrating", Math.Min(r.Total, (long)batch * r.BatchSize), r.Total, Stopwatch.GetElapsedTime(started)));
            }

            progress?.Report(new MigrationProgress("finishing", r.Total, r.Total, Stopwatch.GetElapsedTime(started)));
            var report = await FinishRunAsync(connection, sql, r, resumed, started, cancellationToken).ConfigureAwait(false);
            LegacyLog.Finished(_logger, r.RunId, report.Migrated, report.AlreadyPresent, report.Unclassified, report.Total, (long)report.Elapsed.TotalMilliseconds);
            return report;
        }
        finally
        {
            await UnlockAsync(connection).ConfigureAwait(false);
        }
    }

    /// <summary>Compares the legacy data with the type tables, over exactly the rows the migration is responsible for:
    /// every row it wrote (recorded in <c>stefna_legacy_written</c>) and every legacy row it has yet to write. Per type
    /// the row counts, per row a checksum of every column the migration derives from the legacy row (row id, user id,
    /// image_url, prompt, preset, tags, meta, legacy_id, created_at and the type's own columns such as emotion or
    /// reaction). Rows the new system held before the migration are its own and are not
    /// compared; where their content differs from the legacy row, the legacy row counts in
    /// <see cref="VerificationReport.Unmigrated"/> (kept by <see cref="DropLegacyAsync"/>). Everything is read in one
    /// repeatable-read snapshot. Every verification is recorded with the legacy data's fingerprint;
    /// <see cref="DropLegacyAsync"/> needs a passing one.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The verification, naming every differing row (up to <see cref="LegacyMigrationOptions.MaxListedIds"/>).</returns>
    public async Task<VerificationReport> VerifyAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(_target, cancellationToken).ConfigureAwait(false);
        await LockAsync(connection, cancellationToken).ConfigureAwait(false);
        try
        {
            await PostgresSchema.MigrateAsync(_target, _types, _logger, cancellationToken).ConfigureAwait(false);
            var sql = await PrepareSqlAsync(connection, cancellationToken).ConfigureAwait(false);
            await EnsureStateTablesAsync(connection, cancellationToken).ConfigureAwait(false);
            await IndexWrittenAsync(connection, cancellationToken).ConfigureAwait(false);
            await using var tx = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
            var source = _legacyTable;
            if (_source is not null)
            {
                await ImportAsync(connection, null, cancellationToken).ConfigureAwait(false);
                source = LegacySql.ImportTable;
            }

            var (rows, fingerprint) = await FingerprintAsync(connection, source, cancellationToken).ConfigureAwait(false);
            var report = await VerifyCoreAsync(connection, sql, source, rows, fingerprint, cancellationToken).ConfigureAwait(false);
            await RecordVerificationAsync(connection, report, cancellationToken).ConfigureAwait(false);
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            LegacyLog.Verified(_logger, SourceLabel, report.Passed, report.DifferenceCount, rows);
            return report;
        }
        finally
        {
            await UnlockAsync(connection).ConfigureAwait(false);
        }
    }

    /// <summary>Drops the legacy table after verifying, once more and inside the same transaction, both sides as they
    /// are now. Under an exclusive lock on the legacy table and in one repeatable-read snapshot of the target it checks
    /// that the legacy data is exactly what the latest verification saw (same fingerprint), that this verification
    /// passed, and that a new verification of the current data passes; then it copies every legacy row whose content no
    /// type table holds (unclassified rows, repeated ids with other content, rows the new system held with other
    /// content) verbatim into <c>media_assets_unmigrated</c> of the target database, and drops the legacy table.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The verification made inside the drop; its <see cref="VerificationReport.Unmigrated"/> rows were kept
    /// in <c>media_assets_unmigrated</c>.</returns>
    /// <exception cref="LegacyMigrationException">No passing verification of the current legacy data, or the
    /// verification inside the drop found differences (the message names them).</exception>
    public async Task<VerificationReport> DropLegacyAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(_target, cancellationToken).ConfigureAwait(false);
        await LockAsync(connection, cancellationToken).ConfigureAwait(false);
        NpgsqlConnection? legacyConnection = null;
        NpgsqlTransaction? legacyTx = null;
        try
        {
            await PostgresSchema.MigrateAsync(_target, _types, _logger, cancellationToken).ConfigureAwait(false);
            var sql = await PrepareSqlAsync(connection, cancellationToken).ConfigureAwait(false);
            await EnsureStateTablesAsync(connection, cancellationToken).ConfigureAwait(false);
            await IndexWrittenAsync(connection, cancellationToken).ConfigureAwait(false);
            long? verificationId = null;
            string? verified = null;
            var passed = false;
            await using (var last = new NpgsqlCommand($"SELECT id, fingerprint, passed FROM {LegacySql.VerificationsTable} WHERE source = @source ORDER BY id DESC LIMIT 1", connection))
            {
                last.Parameters.Add(new NpgsqlParameter<string>("source", SourceLabel));
                await using var reader = await last.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    verificationId = reader.GetInt64(0);
                    verified = reader.GetString(1);
                    passed = reader.GetBoolean(2);
                }
            }

            if (verificationId is null || !passed)
            {
                throw new LegacyMigrationException(verificationId is null
                    ? $"Refusing to drop {SourceLabel}: it was never verified. Run the verification first (migrate --verify)."
                    : $"Refusing to drop {SourceLabel}: its latest verification failed. Fix the differences, then verify again.");
            }

            // The lock on the legacy table comes first: the snapshot of the target starts after it, so both sides are
            // read as they are at the drop, and nobody changes the legacy table until it is gone.
            await using var tx = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
            var source = _legacyTable;
            if (_source is null)
            {
                await ExecuteAsync(connection, $"LOCK TABLE {_legacyTable} IN ACCESS EXCLUSIVE MODE", cancellationToken).ConfigureAwait(false);
            }
            else
            {
                legacyConnection = await OpenAsync(_source, cancellationToken).ConfigureAwait(false);
                legacyTx = await legacyConnection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(legacyConnection, $"LOCK TABLE {_legacyTable} IN ACCESS EXCLUSIVE MODE", cancellationToken).ConfigureAwait(false);
                await ImportAsync(connection, legacyConnection, cancellationToken).ConfigureAwait(false);
                source = LegacySql.ImportTable;
            }

            var (rows, current) = await FingerprintAsync(connection, source, cancellationToken).ConfigureAwait(false);
            if (current != verified)
            {
                throw new LegacyMigrationException($"Refusing to drop {SourceLabel}: its data changed since the last passing verification. Run the migration and the verification again.");
            }

            var check = await VerifyCoreAsync(connection, sql, source, rows, current, cancellationToken).ConfigureAwait(false);
            if (!check.Passed)
            {
                throw new LegacyMigrationException($"Refusing to drop {SourceLabel}: verified again inside the drop, the type tables no longer match the legacy data: {Describe(check)}. Re-running the migration restores missing rows; then verify again.");
            }

            await ExecuteAsync(connection, $"""
                CREATE TABLE IF NOT EXISTS {LegacySql.UnmigratedTable} (
                    source text NOT NULL, reason text NOT NULL, id text, user_id text, url text, prompt text, preset_key text,
                    meta jsonb, created_at timestamptz, kept_at timestamptz NOT NULL)
                """, cancellationToken).ConfigureAwait(false);
            await using (var keep = new NpgsqlCommand($"""
                DELETE FROM {LegacySql.UnmigratedTable} WHERE source = @source;
                INSERT INTO {LegacySql.UnmigratedTable} (source, reason, {LegacySql.LegacyColumns}, kept_at)
                SELECT @source,
                       CASE WHEN v.cls < 0 THEN {LegacySql.ReasonText("v.cls")}
                            WHEN NOT v.winner THEN 'repeated id with other content'
                            WHEN v.held THEN 'the new system holds its id with other content'
                            ELSE 'not migrated' END,
                       v.id, v.user_id, v.url, v.prompt, v.preset_key, v.meta, v.created_at, @at
                FROM {LegacySql.VerifyRowsTable} v WHERE NOT v.same
                """, connection))
            {
                keep.CommandTimeout = 0;
                keep.Parameters.Add(new NpgsqlParameter<string>("source", SourceLabel));
                keep.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("at", _time.GetUtcNow()));
                await keep.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            var dropId = await RecordVerificationAsync(connection, check, cancellationToken).ConfigureAwait(false);
            if (legacyConnection is null)
            {
                await ExecuteAsync(connection, $"DROP TABLE {_legacyTable}", cancellationToken).ConfigureAwait(false);
                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                // The kept rows are safe in the target before the source table goes.
                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(legacyConnection, $"DROP TABLE {_legacyTable}", cancellationToken).ConfigureAwait(false);
                await legacyTx!.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            await using var mark = new NpgsqlCommand($"UPDATE {LegacySql.VerificationsTable} SET dropped_at = @at WHERE id = @id", connection);
            mark.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("at", _time.GetUtcNow()));
            mark.Parameters.Add(new NpgsqlParameter<long>("id", dropId));
            await mark.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            LegacyLog.Dropped(_logger, SourceLabel, check.Unmigrated);
            return check;
        }
        finally
        {
            if (legacyTx is not null)
            {
                await legacyTx.DisposeAsync().ConfigureAwait(false);
            }

            if (legacyConnection is not null)
            {
                await legacyConnection.DisposeAsync().ConfigureAwait(false);
            }

            await UnlockAsync(connection).ConfigureAwait(false);
        }
    }

    /// <summary>The differences of a failed verification in a few words: its first rows and the types whose counts differ.</summary>
    internal static string Describe(VerificationReport report)
    {
        var parts = report.Differences.Take(10)
            .Select(d => $"{d.LegacyId} ({d.Type}, {d.Kind}{(d.Columns is { Length: > 0 } c ? ": " + c : string.Empty)})")
            .Concat(report.Types.Where(t => t.Expected != t.Actual).Select(t => $"{t.Type} expected {t.Expected} row(s), holds {t.Actual}"))
            .ToList();
        var more = report.DifferenceCount > Math.Min(10, report.Differences.Count) ? $" and {report.DifferenceCount - Math.Min(10, report.Differences.Count)} more row(s)" : string.Empty;
        return $"{report.DifferenceCount} differing row(s): {string.Join("; ", parts)}{more}";
    }

    private async Task<long> RecordVerificationAsync(NpgsqlConnection connection, VerificationReport report, CancellationToken cancellationToken)
    {
        await using var record = new NpgsqlCommand($"INSERT INTO {LegacySql.VerificationsTable} (source, verified_at, legacy_rows, fingerprint, passed, differences) VALUES (@source, @at, @rows, @fingerprint, @passed, @differences) RETURNING id", connection);
        record.Parameters.Add(new NpgsqlParameter<string>("source", SourceLabel));
        record.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("at", _time.GetUtcNow()));
        record.Parameters.Add(new NpgsqlParameter<long>("rows", report.LegacyRows));
        record.Parameters.Add(new NpgsqlParameter<string>("fingerprint", report.Fingerprint));
        record.Parameters.Add(new NpgsqlParameter<bool>("passed", report.Passed));
        record.Parameters.Add(new NpgsqlParameter<long>("differences", report.DifferenceCount));
        return (long)(await record.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>Indexes the written-rows record for the verification's per-row look-ups. Built when first verifying
    /// rather than when the table is created, so the migration's batches do not maintain it.</summary>
    private static async Task IndexWrittenAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
        await ExecuteAsync(connection, $"CREATE INDEX IF NOT EXISTS {LegacySql.WrittenTable}_id_idx ON {LegacySql.WrittenTable} (id, type); ANALYZE {LegacySql.WrittenTable}", cancellationToken).ConfigureAwait(false);

    /// <summary>The verification proper, inside the caller's (repeatable-read) transaction. Fills the temp table
    /// <c>stefna_verify_rows</c> with every legacy row and its flags: <c>ours</c> (a winner the migration wrote),
    /// <c>held</c> (a winner the migration did not write and the new system holds by id or legacy id),
    /// <c>same</c> (its type table holds its row id with exactly its content).</summary>
    private async Task<VerificationReport> VerifyCoreAsync(NpgsqlConnection connection, LegacySql sql, string source, long rows, string fingerprint, CancellationToken cancellationToken)
    {
        const string v = LegacySql.VerifyRowsTable;
        await ExecuteAsync(connection, $"""
            DROP TABLE IF EXISTS pg_temp.{v};
            CREATE TEMP TABLE {v} ON COMMIT DROP AS
            SELECT q.*, (q.cls >= 0 AND {sql.HeldIdentical("q")}) AS same
            FROM (
                SELECT p.*, (p.winner AND NOT p.ours AND {sql.PresentPredicate("p")}) AS held
                FROM (
                    SELECT r.*, {sql.LegacyRowHash("r")} AS h,
                           (r.winner AND EXISTS (SELECT 1 FROM {LegacySql.WrittenTable} w WHERE w.type = {sql.TypeName("r.cls")} AND w.id = r.new_id)) AS ours
                    FROM ({sql.RankedSelect(source)}) r
                    OFFSET 0) p
                OFFSET 0) q;
            CREATE INDEX ON {v} (new_id);
            ANALYZE {v};
            """, cancellationToken).ConfigureAwait(false);

        var counts = new List<VerificationTypeCount>();
        var differences = new List<VerificationDifference>();
        long differenceCount = 0;
        for (var i = 0; i < sql.Types.Count; i++)
        {
            var type = sql.Types[i];
            var t = PostgresSchema.Identifier(type.TableName);
            var written = $"EXISTS (SELECT 1 FROM {LegacySql.WrittenTable} w WHERE w.type = {LegacySql.Literal(type.Name)} AND w.id = x.id)";
            var expected = await ScalarAsync<long>(connection, $"SELECT count(*) FROM {v} e WHERE e.winner AND e.cls = {i} AND NOT e.held", cancellationToken).ConfigureAwait(false);
            var actual = await ScalarAsync<long>(connection, $"SELECT count(*) FROM {t} x WHERE {written}", cancellationToken).ConfigureAwait(false);
            counts.Add(new VerificationTypeCount(type.Name, type.TableName, expected, actual));

            var diffSql = $"""
                SELECT d.legacy_id, d.kind, d.columns, count(*) OVER () FROM (
                    SELECT e.id AS legacy_id, 'missing' AS kind, NULL AS columns
                    FROM {v} e WHERE e.winner AND e.cls = {i} AND NOT e.held AND NOT EXISTS (SELECT 1 FROM {t} x WHERE x.id = e.new_id)
                    UNION ALL
                    SELECT e.id, 'differs', {sql.DifferingColumns(type, "x", "e")}
                    FROM {v} e JOIN {t} x ON x.id = e.new_id
                    WHERE e.winner AND e.cls = {i} AND e.ours AND {sql.TargetRowHash(type, "x", "e.created_at IS NULL")} <> e.h
                    UNION ALL
                    SELECT coalesce(x.legacy_id, x.id::text), 'unexpected', NULL
                    FROM {t} x WHERE {written} AND NOT EXISTS (SELECT 1 FROM {v} e WHERE e.new_id = x.id AND e.winner AND e.cls = {i} AND NOT e.held)
                ) d ORDER BY d.legacy_id COLLATE "C" LIMIT @max
                """;
            await using var command = new NpgsqlCommand(diffSql, connection);
            command.CommandTimeout = 0;
            command.Parameters.Add(new NpgsqlParameter<int>("max", Math.Max(0, _options.MaxListedIds - differences.Count)));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var first = true;
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (first)
                {
                    differenceCount += reader.GetInt64(3);
                    first = false;
                }

                differences.Add(new VerificationDifference(reader.GetString(0), type.Name, reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2)));
            }

            await reader.DisposeAsync().ConfigureAwait(false);
            if (first && _options.MaxListedIds - differences.Count <= 0)
            {
                // Nothing listed because the list is full: still count this type's differences.
                differenceCount += await ScalarAsync<long>(connection, $"SELECT count(*) FROM ({diffSql.Replace("LIMIT @max", string.Empty, StringComparison.Ordinal)}) z", cancellationToken).ConfigureAwait(false);
            }
        }

        var unmigrated = await ScalarAsync<long>(connection, $"SELECT count(*) FROM {v} WHERE NOT same", cancellationToken).ConfigureAwait(false);
        return new VerificationReport
        {
            Source = SourceLabel,
            LegacyRows = rows,
            Fingerprint = fingerprint,
            Types = counts,
            Differences = differences,
            DifferenceCount = differenceCount,
            Unmigrated = unmigrated,
        };
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_source is not null)
        {
            await _source.DisposeAsync().ConfigureAwait(false);
        }
    }

    internal async Task<LegacySql> PrepareSqlAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
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
                    LegacyLog.ExtensionUnavailable(_logger, extension, ex.MessageText);
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

    private static async Task<string?> ExtensionSchemaAsync(NpgsqlConnection connection, string extension, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = @name", connection);
        command.Parameters.Add(new NpgsqlParameter<string>("name", extension));
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    private async Task<RunState> StartRunAsync(NpgsqlConnection connection, LegacySql sql, CancellationToken cancellationToken)
    {
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var source = _legacyTable;
        if (_source is not null)
        {
            await ImportAsync(connection, null, cancellationToken).ConfigureAwait(false);
            source = LegacySql.ImportTable;
        }

        // The ranking sorts every row once; give that sort room so it stays in memory for typical tables.
        await ExecuteAsync(connection, "SET LOCAL work_mem = '64MB'", cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, sql.CreateStaging(source), cancellationToken).ConfigureAwait(false);
        var total = await ScalarAsync<long>(connection, $"SELECT count(*) FROM {LegacySql.StagingTable}", cancellationToken).ConfigureAwait(false);

        // Unknown preset keys of rows going to a type with a catalogue become retired catalogue entries, so the
        // preset foreign key keeps every row (and the key itself) instead of rejecting it. A known key written another
        // way is stored as the catalogue's key (LegacySql.Preset), so it adds nothing.
        var catalogAdded = 0;
        for (var i = 0; i < sql.Types.Count; i++)
        {
            if (sql.Types[i].Catalog is { } catalog)
            {
                catalogAdded += await ExecuteAsync(connection, $"""
                    INSERT INTO {PostgresSchema.Identifier(catalog.TableName)} (key, name, retired)
                    SELECT DISTINCT k.p, k.p, true FROM (
                        SELECT {sql.Preset(sql.Types[i], "s")} AS p FROM {LegacySql.StagingTable} s
                        WHERE s.cls = {i} AND s.winner AND NOT s.present AND s.preset_key IS NOT NULL) k
                    ON CONFLICT (key) DO NOTHING
                    """, cancellationToken).ConfigureAwait(false);
            }
        }

        var startedAt = _time.GetUtcNow();
        var batches = (int)((total + _options.BatchSize - 1) / _options.BatchSize);
        var names = sql.Types.Select(t => t.Name).ToArray();
        await using var insert = new NpgsqlCommand($"""
            INSERT INTO {LegacySql.RunsTable} (source, types, batch_size, total, batches, catalog_added, started_at)
            VALUES (@source, @types, @batch_size, @total, @batches, @catalog_added, @started_at) RETURNING run_id
            """, connection);
        insert.Parameters.Add(new NpgsqlParameter<string>("source", SourceLabel));
        insert.Parameters.Add(new NpgsqlParameter<string[]>("types", names));
        insert.Parameters.Add(new NpgsqlParameter<int>("batch_size", _options.BatchSize));
        insert.Parameters.Add(new NpgsqlParameter<long>("total", total));
        insert.Parameters.Add(new NpgsqlParameter<int>("batches", batches));
        insert.Parameters.Add(new NpgsqlParameter<int>("catalog_added", catalogAdded));
        insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("started_at", startedAt));
        var runId = (long)(await insert.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new RunState(runId, SourceLabel, names, _options.BatchSize, total, batches, 0, catalogAdded, startedAt);
    }

    private static async Task RunBatchAsync(NpgsqlConnection connection, string batchSql, RunState run, int batch, string[] typeNames, CancellationToken cancellationToken)
    {
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var classified = new long[typeNames.Length];
        var migrated = new long[typeNames.Length];
        await using (var command = new NpgsqlCommand(batchSql, connection))
        {
            command.CommandTimeout = 0;
            command.Parameters.Add(new NpgsqlParameter<long>("lo", (long)(batch - 1) * run.BatchSize));
            command.Parameters.Add(new NpgsqlParameter<long>("hi", (long)batch * run.BatchSize));
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("started", run.StartedAt));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < typeNames.Length; i++)
            {
                classified[i] = reader.GetInt64(2 * i);
                migrated[i] = reader.GetInt64((2 * i) + 1);
            }
        }

        await using (var record = new NpgsqlCommand($"""
            INSERT INTO {LegacySql.BatchesTable} (run_id, batch_no, type, classified, migrated)
            SELECT @run, @batch, t, c, m FROM unnest(@types, @classified, @migrated) AS u(t, c, m)
            UNION ALL SELECT @run, @batch, '', 0, 0
            """, connection))
        {
            record.Parameters.Add(new NpgsqlParameter<long>("run", run.RunId));
            record.Parameters.Add(new NpgsqlParameter<int>("batch", batch));
            record.Parameters.Add(new NpgsqlParameter<string[]>("types", typeNames));
            record.Parameters.Add(new NpgsqlParameter<long[]>("classified", classified));
            record.Parameters.Add(new NpgsqlParameter<long[]>("migrated", migrated));
            await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<MigrationReport> FinishRunAsync(NpgsqlConnection connection, LegacySql sql, RunState run, bool resumed, long started, CancellationToken cancellationToken)
    {
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var perType = new Dictionary<string, (long Classified, long Migrated)>(StringComparer.Ordinal);
        await using (var sums = new NpgsqlCommand($"SELECT type, sum(classified)::bigint, sum(migrated)::bigint FROM {LegacySql.BatchesTable} WHERE run_id = @run AND type <> '' GROUP BY type", connection))
        {
            sums.Parameters.Add(new NpgsqlParameter<long>("run", run.RunId));
            await using var reader = await sums.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                perType[reader.GetString(0)] = (reader.GetInt64(1), reader.GetInt64(2));
            }
        }

        var unclassified = new List<UnclassifiedRows>();
        await using (var rows = new NpgsqlCommand($"SELECT cls, count(*), (array_agg(id ORDER BY id COLLATE \"C\"))[1:@max] FROM {LegacySql.StagingTable} WHERE cls < 0 GROUP BY cls ORDER BY cls DESC", connection))
        {
            rows.Parameters.Add(new NpgsqlParameter<int>("max", _options.MaxListedIds));
            await using var reader = await rows.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var ids = reader.IsDBNull(2) ? [] : reader.GetFieldValue<string?[]>(2);
                unclassified.Add(new UnclassifiedRows((LegacyUnclassifiedReason)(-reader.GetInt32(0)), reader.GetInt64(1), ids));
            }
        }

        var report = new MigrationReport
        {
            IsDryRun = false,
            RunId = run.RunId,
            Resumed = resumed,
            Source = run.Source,
            Total = run.Total,
            Types = [.. sql.Types.Select(t => perType.TryGetValue(t.Name, out var c)
                ? new MigrationTypeCount(t.Name, t.TableName, c.Migrated, c.Classified - c.Migrated)
                : new MigrationTypeCount(t.Name, t.TableName, 0, 0))],
            UnclassifiedRows = unclassified,
            CatalogEntriesAdded = run.CatalogAdded,
            Elapsed = Stopwatch.GetElapsedTime(started),
        };
        report.EnsureBalanced();

        await using (var done = new NpgsqlCommand($"UPDATE {LegacySql.RunsTable} SET finished_at = @at, report = @report WHERE run_id = @run", connection))
        {
            done.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("at", _time.GetUtcNow()));
            done.Parameters.Add(new NpgsqlParameter("report", NpgsqlDbType.Jsonb) { Value = JsonSerializer.Serialize(new
            {
                report.Total,
                types = report.Types,
                unclassified = report.UnclassifiedRows.Select(u => new { reason = u.ReasonText, u.Count }),
                report.CatalogEntriesAdded,
            }) });
            done.Parameters.Add(new NpgsqlParameter<long>("run", run.RunId));
            await done.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await ExecuteAsync(connection, $"DROP TABLE IF EXISTS {LegacySql.StagingTable}; DROP TABLE IF EXISTS {LegacySql.ImportTable}", cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return report;
    }

    private async Task<RunState?> FindOpenRunAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"""
            SELECT r.run_id, r.source, r.types, r.batch_size, r.total, r.batches, r.catalog_added, r.started_at,
                   (SELECT coalesce(max(b.batch_no), 0) FROM {LegacySql.BatchesTable} b WHERE b.run_id = r.run_id),
                   to_regclass(@staging) IS NOT NULL
            FROM {LegacySql.RunsTable} r WHERE r.finished_at IS NULL ORDER BY r.run_id DESC LIMIT 1
            """, connection);
        command.Parameters.Add(new NpgsqlParameter<string>("staging", LegacySql.StagingTable));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        if (!reader.GetBoolean(9))
        {
            throw new LegacyMigrationException($"The unfinished legacy migration run {reader.GetInt64(0)} lost its staging table {LegacySql.StagingTable}; it cannot be resumed. Mark it abandoned (UPDATE {LegacySql.RunsTable} SET finished_at = now() WHERE run_id = {reader.GetInt64(0)}) and run again: rows it migrated count as already present.");
        }

        return new RunState(reader.GetInt64(0), reader.GetString(1), reader.GetFieldValue<string[]>(2), reader.GetInt32(3), reader.GetInt64(4), reader.GetInt32(5), reader.GetInt32(8), reader.GetInt32(6), reader.GetFieldValue<DateTimeOffset>(7));
    }

    /// <summary>Streams the source database's legacy rows into the target's session temp table
    /// <c>stefna_legacy_import</c> (dropped when the caller's transaction ends) with binary COPY: bytes pass through
    /// unparsed, so memory stays flat whatever the table's size. Runs inside a transaction of <paramref name="target"/>;
    /// <paramref name="source"/> is a connection of the source database to read with (one holding a lock on the legacy
    /// table), or null for a new one.</summary>
    private async Task ImportAsync(NpgsqlConnection target, NpgsqlConnection? source, CancellationToken cancellationToken)
    {
        await ExecuteAsync(target, $"""
            DROP TABLE IF EXISTS pg_temp.{LegacySql.ImportTable};
            CREATE TEMP TABLE {LegacySql.ImportTable} (id text, user_id text, url text, prompt text, preset_key text, meta jsonb, created_at timestamptz) ON COMMIT DROP;
            """, cancellationToken).ConfigureAwait(false);
        NpgsqlConnection? own = null;
        try
        {
            if (source is null)
            {
                own = await _source!.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                source = own;
            }

            var select = $"SELECT id::text, user_id::text, url::text, prompt::text, preset_key::text, meta::jsonb, created_at::timestamptz FROM {_legacyTable}";
            await using (var output = await source.BeginRawBinaryCopyAsync($"COPY ({select}) TO STDOUT (FORMAT BINARY)", cancellationToken).ConfigureAwait(false))
            await using (var input = await target.BeginRawBinaryCopyAsync($"COPY {LegacySql.ImportTable} ({LegacySql.LegacyColumns}) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false))
            {
                await output.CopyToAsync(input, 1 << 16, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            if (own is not null)
            {
                await own.DisposeAsync().ConfigureAwait(false);
            }
        }

        await ExecuteAsync(target, $"ANALYZE pg_temp.{LegacySql.ImportTable}", cancellationToken).ConfigureAwait(false);
    }

    private async Task EnsureStateTablesAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
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

    private static async Task<HashSet<string>> ExistingTablesAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
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

    internal static async Task<(long Rows, string Fingerprint)> FingerprintAsync(NpgsqlConnection connection, string source, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(LegacySql.Fingerprint(source), connection);
        command.CommandTimeout = 0;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var rows = reader.GetInt64(0);
        return (rows, rows.ToString(CultureInfo.InvariantCulture) + ":" + reader.GetString(1));
    }

    private async Task LockAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        // A killed run's server session may still be finishing its last statement: wait for it rather than fail.
        var deadline = Stopwatch.GetTimestamp() + (long)(_options.LockTimeout.TotalSeconds * Stopwatch.Frequency);
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
                throw new LegacyMigrationException($"Another legacy migration, verification or drop is running against this database (it holds the migration lock); waited {_options.LockTimeout.TotalSeconds:0} s.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), _time, cancellationToken).ConfigureAwait(false);
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

    /// <summary>Opens a connection for migration work. JIT is off: compiling the large classification expressions
    /// costs more than it saves, even over a million rows.</summary>
    private static async Task<NpgsqlConnection> OpenAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
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

    private static async Task<int> ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        return (T)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    private readonly record struct RunState(long RunId, string Source, string[] Types, int BatchSize, long Total, int Batches, int DoneBatches, int CatalogAdded, DateTimeOffset StartedAt);
}

internal static partial class LegacyLog
{
    [LoggerMessage(200, LogLevel.Information, "Legacy migration run {RunId} started from {Source}: {Total} rows in {Batches} batch(es)")]
    public static partial void Started(ILogger logger, long runId, string source, long total, int batches);

    [LoggerMessage(201, LogLevel.Information, "Resuming legacy migration run {RunId} after batch {Done} of {Batches}")]
    public static partial void Resuming(ILogger logger, long runId, int done, int batches);

    [LoggerMessage(202, LogLevel.Information, "Legacy migration run {RunId} finished: {Migrated} migrated, {Present} already present, {Unclassified} unclassified of {Total} rows in {ElapsedMs} ms")]
    public static partial void Finished(ILogger logger, long runId, long migrated, long present, long unclassified, long total, long elapsedMs);

    [LoggerMessage(203, LogLevel.Information, "Verified the legacy data of {Source}: passed {Passed}, {Differences} difference(s) over {Rows} rows")]
    public static partial void Verified(ILogger logger, string source, bool passed, long differences, long rows);

    [LoggerMessage(204, LogLevel.Warning, "Dropped the legacy table of {Source} after a passing verification; kept {Kept} row(s) no type table holds in media_assets_unmigrated")]
    public static partial void Dropped(ILogger logger, string source, long kept);

    [LoggerMessage(205, LogLevel.Debug, "The {Extension} extension is not available: {Message}")]
    public static partial void ExtensionUnavailable(ILogger logger, string extension, string message);
}
