using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
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
/// <para>Each step is its own class: <see cref="LegacyDryRun"/>, <see cref="LegacyBatchedRun"/>,
/// <see cref="LegacyVerification"/>, <see cref="LegacyDrop"/>, and <see cref="LegacyImport"/> for a legacy table in
/// another database; this class holds what they share and takes the migration lock around each.</para>
/// </remarks>
public sealed class LegacyMigrator : IAsyncDisposable
{
    /// <summary>Key of the session advisory lock that lets one migration, verification or drop run at a time.</summary>
    internal const long LockKey = LegacyMigrationContext.LockKey;

    private readonly LegacyMigrationContext _context;

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
        _context = new LegacyMigrationContext(target, types, options ?? new LegacyMigrationOptions(), time ?? TimeProvider.System, (ILogger?)logger ?? NullLogger.Instance);
    }

    /// <summary>The classifier built from the types' rules (for explanations of single rows).</summary>
    public LegacyClassifier Classifier => _context.Classifier;

    /// <summary>Where the legacy rows come from, as reports name it (no password).</summary>
    public string SourceLabel => _context.SourceLabel;

    /// <summary>Reports what a run would do, writing nothing: everything runs in one transaction that is rolled back
    /// (read-only when the legacy table is in the target database; with another source database, its rows are copied
    /// into a session temp table that goes with the transaction). Takes the migration lock like every other step.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The report a run started now would return.</returns>
    /// <exception cref="LegacyMigrationException">Another migration, verification or drop holds the lock for longer than
    /// <see cref="LegacyMigrationOptions.LockTimeout"/>.</exception>
    public Task<MigrationReport> DryRunAsync(CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        return _context.LockedAsync(connection => new LegacyDryRun(_context).RunAsync(connection, started, cancellationToken), cancellationToken);
    }

    /// <summary>Runs the migration, or finishes one an earlier call started and did not finish.</summary>
    /// <param name="progress">Receives progress after the staging step and after each batch.</param>
    /// <param name="cancellationToken">Cancels the call; committed batches stay, and the next call resumes.</param>
    /// <returns>The run's report (the same whether or not the run was interrupted and resumed).</returns>
    /// <exception cref="LegacyMigrationException">Another migration holds the lock, or an unfinished run was started
    /// with other types or another source.</exception>
    public Task<MigrationReport> RunAsync(IProgress<MigrationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        return _context.LockedAsync(connection => new LegacyBatchedRun(_context).RunAsync(connection, started, progress, cancellationToken), cancellationToken);
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
    public Task<VerificationReport> VerifyAsync(CancellationToken cancellationToken = default) =>
        _context.LockedAsync(connection => new LegacyVerification(_context).VerifyAsync(connection, cancellationToken), cancellationToken);

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
    public Task<VerificationReport> DropLegacyAsync(CancellationToken cancellationToken = default) =>
        _context.LockedAsync(connection => new LegacyDrop(_context).DropAsync(connection, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _context.DisposeAsync();

    internal Task<LegacySql> PrepareSqlAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
        _context.PrepareSqlAsync(connection, cancellationToken);
}
