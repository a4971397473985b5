using Npgsql;
using static Stefna.Sdk.Postgres.Legacy.LegacyMigrationContext;

namespace Stefna.Sdk.Postgres.Legacy;

/// <summary>
/// Import from another database (<see cref="LegacyMigrationOptions.SourceConnectionString"/>): the legacy rows are
/// streamed into a session temp table of the target, which every step then reads as its legacy table.
/// </summary>
internal static class LegacyImport
{
    /// <summary>The table a step reads legacy rows from, inside the caller's transaction of <paramref name="target"/>:
    /// the legacy table itself, or, when it lives in another database, <c>stefna_legacy_import</c> filled from it.</summary>
    public static async Task<string> SourceTableAsync(LegacyMigrationContext context, NpgsqlConnection target, CancellationToken cancellationToken)
    {
        if (context.Source is null)
        {
            return context.LegacyTable;
        }

        await ImportAsync(context, target, null, cancellationToken).ConfigureAwait(false);
        return LegacySql.ImportTable;
    }

    /// <summary>Streams the source database's legacy rows into the target's session temp table
    /// <c>stefna_legacy_import</c> (dropped when the caller's transaction ends) with binary COPY: bytes pass through
    /// unparsed, so memory stays flat whatever the table's size. Runs inside a transaction of <paramref name="target"/>;
    /// <paramref name="source"/> is a connection of the source database to read with (one holding a lock on the legacy
    /// table), or null for a new one.</summary>
    public static async Task ImportAsync(LegacyMigrationContext context, NpgsqlConnection target, NpgsqlConnection? source, CancellationToken cancellationToken)
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
                own = await context.Source!.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                source = own;
            }

            var select = $"SELECT id::text, user_id::text, url::text, prompt::text, preset_key::text, meta::jsonb, created_at::timestamptz FROM {context.LegacyTable}";
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
}
