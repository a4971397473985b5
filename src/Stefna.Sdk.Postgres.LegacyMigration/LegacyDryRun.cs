using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Stefna.Sdk.Legacy;
using static Stefna.Sdk.Postgres.Legacy.LegacyMigrationContext;

namespace Stefna.Sdk.Postgres.Legacy;

/// <summary>
/// The dry run: what a run started now would do, writing nothing. One transaction, rolled back: read-only when the
/// legacy table is in the target database; with another source database its rows are imported into a session temp
/// table that goes with the transaction. Counts come from the same ranked, classified select the run stages.
/// </summary>
internal sealed class LegacyDryRun(LegacyMigrationContext context)
{
    /// <summary>Runs on <paramref name="connection"/>, which holds the migration lock.</summary>
    public async Task<MigrationReport> RunAsync(NpgsqlConnection connection, long started, CancellationToken cancellationToken)
    {
        var sql = await context.PrepareSqlAsync(connection, cancellationToken).ConfigureAwait(false);
        var source = context.LegacyTable;
        await using var readOnly = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (context.Source is not null)
        {
            await LegacyImport.ImportAsync(context, connection, null, cancellationToken).ConfigureAwait(false);
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
        command.Parameters.Add(new NpgsqlParameter<int>("max", context.Options.MaxListedIds));
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
            Source = context.SourceLabel,
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
}
