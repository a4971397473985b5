using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Spectre.Console;
using Stefna.Sdk;
using Stefna.Sdk.Postgres.Legacy;

namespace Stefna.Samples.Console;

/// <summary>The legacy command <c>migrate</c> (PostgreSQL only).</summary>
internal static partial class CliApp
{
    private static Command MigrateCommand(Context c, GlobalOptions g)
    {
        var dryRun = new Option<bool>("--dry-run") { Description = "Report what a migration would do; write nothing." };
        var verify = new Option<bool>("--verify") { Description = "Compare the legacy data with the type tables (counts and a per-row checksum); exit 3 on any difference." };
        var dropLegacy = new Option<bool>("--drop-legacy") { Description = "Drop media_assets; refused unless a verification passed on its current data." };
        var source = new Option<string?>("--source") { Description = "Connection string of another database holding media_assets (default: the --postgres database)." };
        var batchSize = InRange(new Option<int>("--batch-size") { Description = "Legacy rows per batch transaction.", DefaultValueFactory = _ => 50_000 }, 1, int.MaxValue);
        var command = new Command("migrate", "Move legacy media_assets rows into the dedicated tables (then --verify, then --drop-legacy).")
        {
            dryRun, verify, dropLegacy, source, batchSize,
        };
        command.SetAction((parse, ct) => c.RunAsync(parse, async (services, json) =>
        {
            var connectionString = RequirePostgres(parse, g, "migrate");
            if (parse.GetValue(dryRun) && (parse.GetValue(verify) || parse.GetValue(dropLegacy)))
            {
                throw new CliException("--dry-run cannot be combined with --verify or --drop-legacy.", 2);
            }

            var types = services.GetRequiredService<IGenerationPipeline>().Types;
            await using var dataSource = CreateDataSource(connectionString, "--postgres");
            var sourceConnection = parse.GetValue(source);
            if (sourceConnection is not null)
            {
                // Checked here so a malformed one is a one-line error, not an exception from inside the migrator.
                await using var check = CreateDataSource(sourceConnection, "--source");
            }

            await using var migrator = new LegacyMigrator(
                dataSource,
                types,
                new LegacyMigrationOptions { SourceConnectionString = sourceConnection, BatchSize = parse.GetValue(batchSize) },
                logger: services.GetRequiredService<ILogger<LegacyMigrator>>());

            if (parse.GetValue(dryRun))
            {
                c.WriteMigration(json, await migrator.DryRunAsync(ct).ConfigureAwait(false));
                return 0;
            }

            if (!parse.GetValue(verify) && !parse.GetValue(dropLegacy))
            {
                var report = await c.WithMigrationProgressAsync(json, p => migrator.RunAsync(p, ct)).ConfigureAwait(false);
                c.WriteMigration(json, report);
                return 0;
            }

            if (parse.GetValue(verify))
            {
                var verification = await migrator.VerifyAsync(ct).ConfigureAwait(false);
                c.WriteVerification(json, verification);
                if (!verification.Passed)
                {
                    var counts = string.Concat(verification.Types.Where(t => t.Expected != t.Actual).Select(t => $"; {t.Type}: expected {t.Expected} row(s), holds {t.Actual}"));
                    return c.Fail($"verification failed: {verification.DifferenceCount} row(s) differ between {verification.Source} and the type tables{counts}", 3, "verification_failed");
                }
            }

            if (parse.GetValue(dropLegacy))
            {
                var dropped = await migrator.DropLegacyAsync(ct).ConfigureAwait(false);
                if (!json)
                {
                    c.Stderr.WriteLine($"dropped the legacy table of {migrator.SourceLabel}; kept {dropped.Unmigrated} row(s) no type table holds in media_assets_unmigrated");
                }
                else if (!parse.GetValue(verify))
                {
                    c.Write(true, new JsonObject { ["dropped"] = migrator.SourceLabel, ["keptInUnmigrated"] = dropped.Unmigrated }, string.Empty);
                }
            }

            return 0;
        }, ct));
        return command;
    }

    /// <summary>A data source for a connection string from the command line; a malformed one is a usage error (exit 2)
    /// whose message never repeats the string (it may hold a password).</summary>
    private static NpgsqlDataSource CreateDataSource(string connectionString, string option)
    {
        try
        {
            return NpgsqlDataSource.Create(connectionString);
        }
        catch (ArgumentException ex)
        {
            throw new CliException($"{option} is not a valid PostgreSQL connection string ({ex.Message}).", 2);
        }
    }

    private static string RequirePostgres(ParseResult parse, GlobalOptions g, string command)
    {
        var value = parse.GetValue(g.Postgres) ?? Environment.GetEnvironmentVariable("STEFNA_POSTGRES");
        return string.IsNullOrWhiteSpace(value)
            ? throw new CliException($"{command} needs PostgreSQL: pass --postgres <connection string> or set STEFNA_POSTGRES.", 2)
            : value;
    }

    internal static JsonObject ToJson(MigrationReport report) => new()
    {
        ["dryRun"] = report.IsDryRun,
        ["runId"] = report.RunId,
        ["resumed"] = report.Resumed,
        ["source"] = report.Source,
        ["total"] = report.Total,
        ["migrated"] = report.Migrated,
        ["alreadyPresent"] = report.AlreadyPresent,
        ["unclassified"] = report.Unclassified,
        ["balanced"] = report.IsBalanced,
        ["catalogEntriesAdded"] = report.CatalogEntriesAdded,
        ["elapsedMs"] = (long)report.Elapsed.TotalMilliseconds,
        ["types"] = new JsonArray([.. report.Types.Select(t => (JsonNode)new JsonObject
        {
            ["type"] = t.Type, ["table"] = t.Table, ["migrated"] = t.Migrated, ["alreadyPresent"] = t.AlreadyPresent,
        })]),
        ["unclassifiedRows"] = new JsonArray([.. report.UnclassifiedRows.Select(u => (JsonNode)new JsonObject
        {
            ["reason"] = u.ReasonText, ["count"] = u.Count, ["ids"] = new JsonArray([.. u.Ids.Select(i => (JsonNode?)i)]),
        })]),
    };

    internal static JsonObject ToJson(VerificationReport report) => new()
    {
        ["passed"] = report.Passed,
        ["source"] = report.Source,
        ["legacyRows"] = report.LegacyRows,
        ["fingerprint"] = report.Fingerprint,
        ["differenceCount"] = report.DifferenceCount,
        ["unmigrated"] = report.Unmigrated,
        ["types"] = new JsonArray([.. report.Types.Select(t => (JsonNode)new JsonObject
        {
            ["type"] = t.Type, ["table"] = t.Table, ["expected"] = t.Expected, ["actual"] = t.Actual,
        })]),
        ["differences"] = new JsonArray([.. report.Differences.Select(d => (JsonNode)new JsonObject
        {
            ["legacyId"] = d.LegacyId, ["type"] = d.Type, ["kind"] = d.Kind, ["columns"] = d.Columns,
        })]),
    };

    private sealed partial class Context
    {
        private const int IdsShown = 10;

        public void WriteMigration(bool json, MigrationReport report)
        {
            if (json)
            {
                Write(true, ToJson(report), string.Empty);
                return;
            }

            var console = Console();
            var n = (long v) => v.ToString("N0", CultureInfo.InvariantCulture);
            var table = new Table().AddColumns("type", "table", report.IsDryRun ? "would migrate" : "migrated", "already present", "unclassified");
            foreach (var t in report.Types)
            {
                table.AddRow(Markup.Escape(t.Type), Markup.Escape(t.Table), n(t.Migrated), n(t.AlreadyPresent), string.Empty);
            }

            foreach (var u in report.UnclassifiedRows)
            {
                table.AddRow("[yellow]unclassified[/]", Markup.Escape(u.ReasonText), string.Empty, string.Empty, n(u.Count));
            }

            table.AddRow("[bold]total[/]", Markup.Escape(report.Source), $"[bold]{n(report.Migrated)}[/]", $"[bold]{n(report.AlreadyPresent)}[/]", $"[bold]{n(report.Unclassified)}[/]");

            // The rows left behind, by reason (first few legacy ids each; --json lists them all).
            var left = new Table().AddColumns("left in media_assets", "legacy ids");
            foreach (var u in report.UnclassifiedRows)
            {
                var ids = string.Join(", ", u.Ids.Take(IdsShown).Select(i => i ?? "(null)")) + (u.Count > IdsShown ? ", …" : string.Empty);
                left.AddRow(Markup.Escape(u.ReasonText), Markup.Escape(ids));
            }

            console.WriteLine(report.IsDryRun
                ? $"Dry run (nothing written): {report.Source}"
                : $"Legacy migration run {report.RunId}{(report.Resumed ? " (resumed)" : string.Empty)} in {report.Elapsed.TotalSeconds:0.0} s:");
            console.Write(table);
            if (report.UnclassifiedRows.Count > 0)
            {
                console.Write(left);
            }

            console.WriteLine($"{(report.IsBalanced ? "balanced" : "NOT BALANCED")}: migrated {n(report.Migrated)} + already present {n(report.AlreadyPresent)} + unclassified {n(report.Unclassified)} = {n(report.Total)} rows; {report.CatalogEntriesAdded} unknown preset key(s) {(report.IsDryRun ? "would be" : "were")} added to a catalogue as retired entries");
        }

        public void WriteVerification(bool json, VerificationReport report)
        {
            if (json)
            {
                Write(true, ToJson(report), string.Empty);
                return;
            }

            var console = Console();
            var table = new Table().AddColumns("type", "table", "expected", "actual");
            foreach (var t in report.Types)
            {
                var style = t.Expected == t.Actual ? string.Empty : "[red]";
                table.AddRow(Markup.Escape(t.Type), Markup.Escape(t.Table), t.Expected.ToString(CultureInfo.InvariantCulture), style.Length > 0 ? $"{style}{t.Actual}[/]" : t.Actual.ToString(CultureInfo.InvariantCulture));
            }

            console.Write(table);
            if (report.Differences.Count > 0)
            {
                var diff = new Table().AddColumns("legacy id", "type", "difference", "columns");
                foreach (var d in report.Differences)
                {
                    diff.AddRow(Markup.Escape(d.LegacyId), Markup.Escape(d.Type), Markup.Escape(d.Kind), Markup.Escape(d.Columns ?? string.Empty));
                }

                console.Write(diff);
            }

            console.WriteLine(report.Passed
                ? $"verification passed: {report.LegacyRows} legacy rows, fingerprint {report.Fingerprint}; {report.Unmigrated} row(s) no type table holds (unclassified, repeated ids with other content, rows the new system held with other content) go to media_assets_unmigrated at the drop"
                : $"verification FAILED: {report.DifferenceCount} row(s) differ");
        }

        public async Task<T> WithMigrationProgressAsync<T>(bool json, Func<IProgress<MigrationProgress>, Task<T>> work)
        {
            if (json || !Interactive)
            {
                // Scripts and logs: one plain line per batch on stderr, stdout stays the report.
                return await work(new SyncProgress(p => Stderr.WriteLine(
                    $"migrate: {p.Phase} {p.RowsDone}/{p.RowsTotal} rows ({p.RowsPerSecond:0} rows/s, {p.Elapsed.TotalSeconds:0.0} s)"))).ConfigureAwait(false);
            }

            return await Console(trim: false).Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask("staging legacy rows…", maxValue: 1);
                    return await work(new SyncProgress(p =>
                    {
                        task.MaxValue = Math.Max(1, p.RowsTotal);
                        task.Value = p.RowsDone;
                        task.Description = Markup.Escape($"{p.Phase} {p.RowsDone:N0}/{p.RowsTotal:N0} rows, {p.RowsPerSecond:N0} rows/s");
                    })).ConfigureAwait(false);
                }).ConfigureAwait(false);
        }
    }

    /// <summary>Reports on the caller's thread, in order (<see cref="Progress{T}"/> would post to the thread pool).</summary>
    private sealed class SyncProgress(Action<MigrationProgress> report) : IProgress<MigrationProgress>
    {
        public void Report(MigrationProgress value) => report(value);
    }
}
