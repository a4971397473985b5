namespace Stefna.Sdk.Postgres.Legacy;

/// <summary>Options of <see cref="LegacyMigrator"/>.</summary>
public sealed class LegacyMigrationOptions
{
    /// <summary>The legacy table: <c>media_assets</c> by default; <c>schema.table</c> is allowed.</summary>
    public string LegacyTable { get; set; } = "media_assets";

    /// <summary>A connection string of another database holding the legacy table; <see langword="null"/> when it is in
    /// the target database. Its rows are streamed with binary COPY into a table of the target. Never logged.</summary>
    public string? SourceConnectionString { get; set; }

    /// <summary>Legacy rows per batch transaction: a kill loses at most one batch's work. Default 50,000.</summary>
    public int BatchSize { get; set; } = 50_000;

    /// <summary>How many ids a report lists per reason (and differences a verification lists). Default 10,000.</summary>
    public int MaxListedIds { get; set; } = 10_000;

    /// <summary>How long to wait for another migration (or the server-side rest of a killed one) to release the
    /// migration lock. Default 2 minutes.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <inheritdoc />
    public override string ToString() =>
        $"LegacyMigrationOptions {{ LegacyTable = {LegacyTable}, Source = {(SourceConnectionString is null ? "(target database)" : PostgresStoreOptions.Redact(SourceConnectionString))}, BatchSize = {BatchSize} }}";
}
