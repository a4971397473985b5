using System.Diagnostics;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Stefna.Sdk.Legacy;
using static Stefna.Sdk.Postgres.Legacy.LegacyMigrationContext;

namespace Stefna.Sdk.Postgres.Legacy;

/// <summary>
/// The batched, resumable run. A run first freezes its input in <c>stefna_legacy_staging</c> (one transaction):
/// every legacy row with its row id, its class, whether it is the one row migrated for its id and whether the new
/// system already held it; it is recorded in <c>stefna_legacy_runs</c>. Each batch then inserts one range of staging
/// rows into every type table and records its counts in <c>stefna_legacy_batches</c>, in the same transaction, so a
/// run killed at any moment resumes after its last committed batch. The report is the sum of those records.
/// </summary>
internal sealed class LegacyBatchedRun(LegacyMigrationContext context)
{
    /// <summary>Runs the migration, or finishes the unfinished one, on <paramref name="connection"/>, which holds the
    /// migration lock.</summary>
    public async Task<MigrationReport> RunAsync(NpgsqlConnection connection, long started, IProgress<MigrationProgress>? progress, CancellationToken cancellationToken)
    {
        await context.MigrateSchemaAsync(cancellationToken).ConfigureAwait(false);
        var sql = await context.PrepareSqlAsync(connection, cancellationToken).ConfigureAwait(false);
        await EnsureStateTablesAsync(connection, cancellationToken).ConfigureAwait(false);

        var run = await FindOpenRunAsync(connection, cancellationToken).ConfigureAwait(false);
        var resumed = run is not null;
        if (run is { } open)
        {
            var names = sql.Types.Select(t => t.Name).ToArray();
            if (!open.Types.SequenceEqual(names, StringComparer.Ordinal) || open.Source != context.SourceLabel)
            {
                throw new LegacyMigrationException($"An unfinished legacy migration (run {open.RunId}) was started from {open.Source} with the types {string.Join(", ", open.Types)}; run it again with the same source and types to finish it.");
            }

            LegacyLog.Resuming(context.Logger, open.RunId, open.DoneBatches, open.Batches);
        }
        else
        {
            progress?.Report(new MigrationProgress("staging", 0, 0, Stopwatch.GetElapsedTime(started)));
            run = await StartRunAsync(connection, sql, cancellationToken).ConfigureAwait(false);
            LegacyLog.Started(context.Logger, run.Value.RunId, context.SourceLabel, run.Value.Total, run.Value.Batches);
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
        LegacyLog.Finished(context.Logger, r.RunId, report.Migrated, report.AlreadyPresent, report.Unclassified, report.Total, (long)report.Elapsed.TotalMilliseconds);
        return report;
    }

    private async Task<RunState> StartRunAsync(NpgsqlConnection connection, LegacySql sql, CancellationToken cancellationToken)
    {
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var source = await LegacyImport.SourceTableAsync(context, connection, cancellationToken).ConfigureAwait(false);

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

        var startedAt = context.Time.GetUtcNow();
        var batches = (int)((total + context.Options.BatchSize - 1) / context.Options.BatchSize);
        var names = sql.Types.Select(t => t.Name).ToArray();
        await using var insert = new NpgsqlCommand($"""
            INSERT INTO {LegacySql.RunsTable} (source, types, batch_size, total, batches, catalog_added, started_at)
            VALUES (@source, @types, @batch_size, @total, @batches, @catalog_added, @started_at) RETURNING run_id
            """, connection);
        insert.Parameters.Add(new NpgsqlParameter<string>("source", context.SourceLabel));
        insert.Parameters.Add(new NpgsqlParameter<string[]>("types", names));
        insert.Parameters.Add(new NpgsqlParameter<int>("batch_size", context.Options.BatchSize));
        insert.Parameters.Add(new NpgsqlParameter<long>("total", total));
        insert.Parameters.Add(new NpgsqlParameter<int>("batches", batches));
        insert.Parameters.Add(new NpgsqlParameter<int>("catalog_added", catalogAdded));
        insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("started_at", startedAt));
        var runId = (long)(await insert.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new RunState(runId, context.SourceLabel, names, context.Options.BatchSize, total, batches, 0, catalogAdded, startedAt);
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
            rows.Parameters.Add(new NpgsqlParameter<int>("max", context.Options.MaxListedIds));
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
            done.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("at", context.Time.GetUtcNow()));
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

    private readonly record struct RunState(long RunId, string Source, string[] Types, int BatchSize, long Total, int Batches, int DoneBatches, int CatalogAdded, DateTimeOffset StartedAt);
}
