using System.Data;
using Npgsql;
using static Stefna.Sdk.Postgres.Legacy.LegacyMigrationContext;

namespace Stefna.Sdk.Postgres.Legacy;

/// <summary>
/// The guarded drop of the legacy table: refused without a passing verification of the current legacy data; verifies
/// both sides once more under an exclusive lock on the legacy table and in one snapshot of the target, keeps every
/// legacy row whose content no type table holds in <c>media_assets_unmigrated</c>, then drops the table.
/// </summary>
internal sealed class LegacyDrop(LegacyMigrationContext context)
{
    private readonly LegacyVerification _verification = new(context);

    /// <summary>Drops on <paramref name="connection"/>, which holds the migration lock (see
    /// <see cref="LegacyMigrator.DropLegacyAsync"/>).</summary>
    public async Task<VerificationReport> DropAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        NpgsqlConnection? legacyConnection = null;
        NpgsqlTransaction? legacyTx = null;
        try
        {
            await context.MigrateSchemaAsync(cancellationToken).ConfigureAwait(false);
            var sql = await context.PrepareSqlAsync(connection, cancellationToken).ConfigureAwait(false);
            await EnsureStateTablesAsync(connection, cancellationToken).ConfigureAwait(false);
            await LegacyVerification.IndexWrittenAsync(connection, cancellationToken).ConfigureAwait(false);
            long? verificationId = null;
            string? verified = null;
            var passed = false;
            await using (var last = new NpgsqlCommand($"SELECT id, fingerprint, passed FROM {LegacySql.VerificationsTable} WHERE source = @source ORDER BY id DESC LIMIT 1", connection))
            {
                last.Parameters.Add(new NpgsqlParameter<string>("source", context.SourceLabel));
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
                    ? $"Refusing to drop {context.SourceLabel}: it was never verified. Run the verification first (migrate --verify)."
                    : $"Refusing to drop {context.SourceLabel}: its latest verification failed. Fix the differences, then verify again.");
            }

            // The lock on the legacy table comes first: the snapshot of the target starts after it, so both sides are
            // read as they are at the drop, and nobody changes the legacy table until it is gone.
            await using var tx = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
            var source = context.LegacyTable;
            if (context.Source is null)
            {
                await ExecuteAsync(connection, $"LOCK TABLE {context.LegacyTable} IN ACCESS EXCLUSIVE MODE", cancellationToken).ConfigureAwait(false);
            }
            else
            {
                legacyConnection = await OpenAsync(context.Source!, cancellationToken).ConfigureAwait(false);
                legacyTx = await legacyConnection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(legacyConnection, $"LOCK TABLE {context.LegacyTable} IN ACCESS EXCLUSIVE MODE", cancellationToken).ConfigureAwait(false);
                await LegacyImport.ImportAsync(context, connection, legacyConnection, cancellationToken).ConfigureAwait(false);
                source = LegacySql.ImportTable;
            }

            var (rows, current) = await LegacyVerification.FingerprintAsync(connection, source, cancellationToken).ConfigureAwait(false);
            if (current != verified)
            {
                throw new LegacyMigrationException($"Refusing to drop {context.SourceLabel}: its data changed since the last passing verification. Run the migration and the verification again.");
            }

            var check = await _verification.VerifyCoreAsync(connection, sql, source, rows, current, cancellationToken).ConfigureAwait(false);
            if (!check.Passed)
            {
                throw new LegacyMigrationException($"Refusing to drop {context.SourceLabel}: verified again inside the drop, the type tables no longer match the legacy data: {LegacyVerification.Describe(check)}. Re-running the migration restores missing rows; then verify again.");
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
                keep.Parameters.Add(new NpgsqlParameter<string>("source", context.SourceLabel));
                keep.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("at", context.Time.GetUtcNow()));
                await keep.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            var dropId = await _verification.RecordVerificationAsync(connection, check, cancellationToken).ConfigureAwait(false);
            if (legacyConnection is null)
            {
                await ExecuteAsync(connection, $"DROP TABLE {context.LegacyTable}", cancellationToken).ConfigureAwait(false);
                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                // The kept rows are safe in the target before the source table goes.
                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(legacyConnection, $"DROP TABLE {context.LegacyTable}", cancellationToken).ConfigureAwait(false);
                await legacyTx!.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            await using var mark = new NpgsqlCommand($"UPDATE {LegacySql.VerificationsTable} SET dropped_at = @at WHERE id = @id", connection);
            mark.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("at", context.Time.GetUtcNow()));
            mark.Parameters.Add(new NpgsqlParameter<long>("id", dropId));
            await mark.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            LegacyLog.Dropped(context.Logger, context.SourceLabel, check.Unmigrated);
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
        }
    }
}
