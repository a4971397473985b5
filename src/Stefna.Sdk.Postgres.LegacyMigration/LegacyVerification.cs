using System.Data;
using System.Globalization;
using Npgsql;
using Stefna.Sdk.Generators;
using static Stefna.Sdk.Postgres.Legacy.LegacyMigrationContext;

namespace Stefna.Sdk.Postgres.Legacy;

/// <summary>
/// The verification: compares the legacy data with the type tables over exactly the rows the migration is responsible
/// for, in one repeatable-read snapshot, and records the result with the legacy data's fingerprint (the drop needs a
/// passing one). <see cref="VerifyCoreAsync"/> is also what <see cref="LegacyDrop"/> runs inside the drop.
/// </summary>
internal sealed class LegacyVerification(LegacyMigrationContext context)
{
    /// <summary>Verifies on <paramref name="connection"/>, which holds the migration lock (see
    /// <see cref="LegacyMigrator.VerifyAsync"/>).</summary>
    public async Task<VerificationReport> VerifyAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await context.MigrateSchemaAsync(cancellationToken).ConfigureAwait(false);
        var sql = await context.PrepareSqlAsync(connection, cancellationToken).ConfigureAwait(false);
        await EnsureStateTablesAsync(connection, cancellationToken).ConfigureAwait(false);
        await IndexWrittenAsync(connection, cancellationToken).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
        var source = await LegacyImport.SourceTableAsync(context, connection, cancellationToken).ConfigureAwait(false);

        var (rows, fingerprint) = await FingerprintAsync(connection, source, cancellationToken).ConfigureAwait(false);
        var report = await VerifyCoreAsync(connection, sql, source, rows, fingerprint, cancellationToken).ConfigureAwait(false);
        await RecordVerificationAsync(connection, report, cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        LegacyLog.Verified(context.Logger, context.SourceLabel, report.Passed, report.DifferenceCount, rows);
        return report;
    }

    /// <summary>The differences of a failed verification in a few words: its first rows and the types whose counts differ.</summary>
    public static string Describe(VerificationReport report)
    {
        var parts = report.Differences.Take(10)
            .Select(d => $"{d.LegacyId} ({d.Type}, {d.Kind}{(d.Columns is { Length: > 0 } c ? ": " + c : string.Empty)})")
            .Concat(report.Types.Where(t => t.Expected != t.Actual).Select(t => $"{t.Type} expected {t.Expected} row(s), holds {t.Actual}"))
            .ToList();
        var more = report.DifferenceCount > Math.Min(10, report.Differences.Count) ? $" and {report.DifferenceCount - Math.Min(10, report.Differences.Count)} more row(s)" : string.Empty;
        return $"{report.DifferenceCount} differing row(s): {string.Join("; ", parts)}{more}";
    }

    public async Task<long> RecordVerificationAsync(NpgsqlConnection connection, VerificationReport report, CancellationToken cancellationToken)
    {
        await using var record = new NpgsqlCommand($"INSERT INTO {LegacySql.VerificationsTable} (source, verified_at, legacy_rows, fingerprint, passed, differences) VALUES (@source, @at, @rows, @fingerprint, @passed, @differences) RETURNING id", connection);
        record.Parameters.Add(new NpgsqlParameter<string>("source", context.SourceLabel));
        record.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("at", context.Time.GetUtcNow()));
        record.Parameters.Add(new NpgsqlParameter<long>("rows", report.LegacyRows));
        record.Parameters.Add(new NpgsqlParameter<string>("fingerprint", report.Fingerprint));
        record.Parameters.Add(new NpgsqlParameter<bool>("passed", report.Passed));
        record.Parameters.Add(new NpgsqlParameter<long>("differences", report.DifferenceCount));
        return (long)(await record.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>Indexes the written-rows record for the verification's per-row look-ups. Built when first verifying
    /// rather than when the table is created, so the migration's batches do not maintain it.</summary>
    public static async Task IndexWrittenAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
        await ExecuteAsync(connection, $"CREATE INDEX IF NOT EXISTS {LegacySql.WrittenTable}_id_idx ON {LegacySql.WrittenTable} (id, type); ANALYZE {LegacySql.WrittenTable}", cancellationToken).ConfigureAwait(false);

    /// <summary>The verification proper, inside the caller's (repeatable-read) transaction. Fills the temp table
    /// <c>stefna_verify_rows</c> with every legacy row and its flags: <c>ours</c> (a winner the migration wrote),
    /// <c>held</c> (a winner the migration did not write and the new system holds by id or legacy id),
    /// <c>same</c> (its type table holds its row id with exactly its content).</summary>
    public async Task<VerificationReport> VerifyCoreAsync(NpgsqlConnection connection, LegacySql sql, string source, long rows, string fingerprint, CancellationToken cancellationToken)
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
            command.Parameters.Add(new NpgsqlParameter<int>("max", Math.Max(0, context.Options.MaxListedIds - differences.Count)));
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
            if (first && context.Options.MaxListedIds - differences.Count <= 0)
            {
                // Nothing listed because the list is full: still count this type's differences.
                differenceCount += await ScalarAsync<long>(connection, $"SELECT count(*) FROM ({diffSql.Replace("LIMIT @max", string.Empty, StringComparison.Ordinal)}) z", cancellationToken).ConfigureAwait(false);
            }
        }

        var unmigrated = await ScalarAsync<long>(connection, $"SELECT count(*) FROM {v} WHERE NOT same", cancellationToken).ConfigureAwait(false);
        return new VerificationReport
        {
            Source = context.SourceLabel,
            LegacyRows = rows,
            Fingerprint = fingerprint,
            Types = counts,
            Differences = differences,
            DifferenceCount = differenceCount,
            Unmigrated = unmigrated,
        };
    }

    /// <summary>The legacy data's row count and order-independent checksum, as <c>rows:checksum</c>.</summary>
    public static async Task<(long Rows, string Fingerprint)> FingerprintAsync(NpgsqlConnection connection, string source, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(LegacySql.Fingerprint(source), connection);
        command.CommandTimeout = 0;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var rows = reader.GetInt64(0);
        return (rows, rows.ToString(CultureInfo.InvariantCulture) + ":" + reader.GetString(1));
    }
}
