using Stefna.Sdk.Legacy;

namespace Stefna.Sdk.Postgres.Legacy;

/// <summary>
/// What a legacy migration did (or, for a dry run, would do). It always balances:
/// <see cref="Migrated"/> + <see cref="AlreadyPresent"/> + <see cref="Unclassified"/> = <see cref="Total"/>, the rows
/// of <c>media_assets</c> the run read; <see cref="EnsureBalanced"/> is called before any report is returned.
/// </summary>
public sealed class MigrationReport
{
    /// <summary>Whether nothing was written (a dry run).</summary>
    public required bool IsDryRun { get; init; }

    /// <summary>The run's number in <c>stefna_legacy_runs</c> (0 for a dry run).</summary>
    public long RunId { get; init; }

    /// <summary>Whether this call finished a run an earlier, interrupted call started.</summary>
    public bool Resumed { get; init; }

    /// <summary>Where the legacy rows came from: <c>media_assets</c>, or the other database's host/name.</summary>
    public required string Source { get; init; }

    /// <summary>The rows of the legacy table.</summary>
    public required long Total { get; init; }

    /// <summary>Per generation type: rows migrated and rows the new system already held.</summary>
    public required IReadOnlyList<MigrationTypeCount> Types { get; init; }

    /// <summary>The rows left in the legacy table, by reason, with their ids (the drop keeps them in
    /// <c>media_assets_unmigrated</c>).</summary>
    public required IReadOnlyList<UnclassifiedRows> UnclassifiedRows { get; init; }

    /// <summary>Unknown preset keys added to a type's catalogue as retired entries, so the migrated rows keep them.</summary>
    public int CatalogEntriesAdded { get; init; }

    /// <summary>How long the call took.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>Rows written to the type tables.</summary>
    public long Migrated => Types.Sum(t => t.Migrated);

    /// <summary>Rows not written because the new system already held them (same id or legacy id), including repeated
    /// ids inside the legacy table beyond their first row. Those whose content no type table holds are counted by the
    /// verification (<see cref="VerificationReport.Unmigrated"/>) and kept by the drop.</summary>
    public long AlreadyPresent => Types.Sum(t => t.AlreadyPresent);

    /// <summary>Rows no type took.</summary>
    public long Unclassified => UnclassifiedRows.Sum(u => u.Count);

    /// <summary>Whether the counts add up to the total.</summary>
    public bool IsBalanced => Migrated + AlreadyPresent + Unclassified == Total;

    /// <summary>Throws when the report does not balance (a bug, never a data condition).</summary>
    /// <exception cref="InvalidOperationException">The counts do not add up.</exception>
    public void EnsureBalanced()
    {
        if (!IsBalanced)
        {
            throw new InvalidOperationException($"The migration report does not balance: migrated {Migrated} + already present {AlreadyPresent} + unclassified {Unclassified} != {Total} legacy rows.");
        }
    }
}

/// <summary>One generation type's line of a <see cref="MigrationReport"/>.</summary>
/// <param name="Type">The type's name.</param>
/// <param name="Table">Its dedicated table.</param>
/// <param name="Migrated">Rows written.</param>
/// <param name="AlreadyPresent">Rows classified as this type the new system already held.</param>
public sealed record MigrationTypeCount(string Type, string Table, long Migrated, long AlreadyPresent);

/// <summary>The unclassified rows of one reason.</summary>
/// <param name="Reason">The reason.</param>
/// <param name="Count">How many rows.</param>
/// <param name="Ids">Their ids in a stable order (at most <see cref="LegacyMigrationOptions.MaxListedIds"/>; a null id is listed as <see langword="null"/>).</param>
public sealed record UnclassifiedRows(LegacyUnclassifiedReason Reason, long Count, IReadOnlyList<string?> Ids)
{
    /// <summary>The reason as text, e.g. <c>no url</c>.</summary>
    public string ReasonText => LegacyClassifier.ReasonText(Reason);
}

/// <summary>Progress of a running migration.</summary>
/// <param name="Phase">What is happening: <c>staging</c>, <c>migrating</c>, <c>finishing</c>.</param>
/// <param name="RowsDone">Legacy rows handled so far (including those of batches an interrupted run finished).</param>
/// <param name="RowsTotal">Legacy rows in all.</param>
/// <param name="Elapsed">Time since this call started.</param>
public readonly record struct MigrationProgress(string Phase, long RowsDone, long RowsTotal, TimeSpan Elapsed)
{
    /// <summary>Rows per second over <see cref="Elapsed"/>.</summary>
    public double RowsPerSecond => Elapsed.TotalSeconds > 0 ? RowsDone / Elapsed.TotalSeconds : 0;
}

/// <summary>The outcome of <see cref="LegacyMigrator.VerifyAsync"/>.</summary>
public sealed class VerificationReport
{
    /// <summary>Whether every row the migration is responsible for (the rows it wrote and the legacy rows it has yet to
    /// write) is in its type table with the same content, and no row it wrote lost its legacy row. A failed verification
    /// always names at least one row in <see cref="Differences"/> (a count that differs comes with a missing or
    /// unexpected row).</summary>
    public bool Passed => DifferenceCount == 0 && Types.All(t => t.Expected == t.Actual);

    /// <summary>Where the legacy rows came from.</summary>
    public required string Source { get; init; }

    /// <summary>Rows of the legacy table.</summary>
    public required long LegacyRows { get; init; }

    /// <summary>The legacy data's fingerprint (row count and an order-independent checksum).</summary>
    public required string Fingerprint { get; init; }

    /// <summary>Per type: rows the migration is responsible for vs rows of the table it wrote.</summary>
    public required IReadOnlyList<VerificationTypeCount> Types { get; init; }

    /// <summary>The differing rows (at most <see cref="LegacyMigrationOptions.MaxListedIds"/>), ordered by type and id.</summary>
    public required IReadOnlyList<VerificationDifference> Differences { get; init; }

    /// <summary>Legacy rows whose content no type table holds: unclassified rows, repeated ids whose content differs
    /// from the migrated row, and rows the new system held before the migration with other content. Not a difference:
    /// <see cref="LegacyMigrator.DropLegacyAsync"/> keeps them, verbatim, in <c>media_assets_unmigrated</c>.</summary>
    public long Unmigrated { get; init; }

    /// <summary>How many differing rows in all.</summary>
    public required long DifferenceCount { get; init; }
}

/// <summary>One type's counts in a <see cref="VerificationReport"/>.</summary>
/// <param name="Type">The type's name.</param>
/// <param name="Table">Its table.</param>
/// <param name="Expected">Rows the legacy data classifies as this type (one per id), except those the new system held
/// before the migration (it did not write them).</param>
/// <param name="Actual">Rows of the table the migration wrote (recorded in <c>stefna_legacy_written</c>).</param>
public sealed record VerificationTypeCount(string Type, string Table, long Expected, long Actual);

/// <summary>A row that differs between the legacy table and the type tables.</summary>
/// <param name="LegacyId">The legacy id.</param>
/// <param name="Type">The type table concerned.</param>
/// <param name="Kind"><c>missing</c> (not in the table), <c>differs</c> (content changed) or <c>unexpected</c> (the
/// migration wrote it to the table, but the legacy data no longer places it there).</param>
/// <param name="Columns">For <c>differs</c>: the columns that differ, e.g. <c>image_url</c>.</param>
public sealed record VerificationDifference(string LegacyId, string Type, string Kind, string? Columns);
