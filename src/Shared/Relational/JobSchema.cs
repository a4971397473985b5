namespace Stefna.Sdk.Relational;

// Shared source: the relational core is compiled into both the SQLite and the PostgreSQL store assemblies as internal
// types (<Compile Include="..\Shared\Relational\**\*.cs" LinkBase="Relational" />, the pattern of dotnet/runtime's
// src/libraries/Common/src). So it adds no public surface to freeze, cannot skew between the two packages' versions
// (each is built with the core it was tested with), and still is one implementation.

/// <summary>The logical type of a job column; each dialect stores it its own way (<see cref="RelationalDialect"/>).</summary>
internal enum ColumnType
{
    /// <summary>The job id: <c>text</c> in SQLite, <c>uuid</c> in PostgreSQL.</summary>
    Id,

    /// <summary>Text.</summary>
    Text,

    /// <summary>A list of texts (tags): a JSON array in SQLite, <c>text[]</c> in PostgreSQL.</summary>
    TextList,

    /// <summary>A JSON object (meta): JSON text in SQLite, <c>jsonb</c> in PostgreSQL.</summary>
    JsonObject,

    /// <summary>A 32-bit integer.</summary>
    Integer,

    /// <summary>A point in time: UTC ticks in SQLite, <c>timestamptz</c> in PostgreSQL.</summary>
    Timestamp,
}

/// <summary>One common column of every job table.</summary>
internal readonly record struct JobColumn(string Name, ColumnType Type, bool Nullable);

/// <summary>
/// The common columns of every job table, in the order of every select and RETURNING list (the row reader depends on
/// it); a type's own columns (<see cref="Generators.GenerationTypeDefinition.ExtraColumns"/>, all text) follow them.
/// </summary>
internal static class JobSchema
{
    public const int Id = 0;
    public const int UserId = 1;
    public const int Status = 2;
    public const int Prompt = 3;
    public const int Preset = 4;
    public const int SourceImageUrl = 5;
    public const int ImageUrl = 6;
    public const int Tags = 7;
    public const int Meta = 8;
    public const int ErrorCode = 9;
    public const int ErrorMessage = 10;
    public const int Attempts = 11;
    public const int LeaseUntil = 12;
    public const int ProviderJobId = 13;
    public const int IdempotencyKey = 14;
    public const int LegacyId = 15;
    public const int CreatedAt = 16;
    public const int UpdatedAt = 17;
    public const int NextCheckAt = 18;
    public const int ProviderDeadline = 19;

    /// <summary>The common columns, in order.</summary>
    public static readonly JobColumn[] Columns =
    [
        new("id", ColumnType.Id, Nullable: false),
        new("user_id", ColumnType.Text, Nullable: false),
        new("status", ColumnType.Text, Nullable: false),
        new("prompt", ColumnType.Text, Nullable: true),
        new("preset", ColumnType.Text, Nullable: true),
        new("source_image_url", ColumnType.Text, Nullable: true),
        new("image_url", ColumnType.Text, Nullable: true),
        new("tags", ColumnType.TextList, Nullable: false),
        new("meta", ColumnType.JsonObject, Nullable: false),
        new("error_code", ColumnType.Text, Nullable: true),
        new("error_message", ColumnType.Text, Nullable: true),
        new("attempts", ColumnType.Integer, Nullable: false),
        new("lease_until", ColumnType.Timestamp, Nullable: true),
        new("provider_job_id", ColumnType.Text, Nullable: true),
        new("idempotency_key", ColumnType.Text, Nullable: true),
        new("legacy_id", ColumnType.Text, Nullable: true),
        new("created_at", ColumnType.Timestamp, Nullable: false),
        new("updated_at", ColumnType.Timestamp, Nullable: false),
        new("next_check_at", ColumnType.Timestamp, Nullable: true),
        new("provider_deadline", ColumnType.Timestamp, Nullable: true),
    ];

    /// <summary>How many common columns there are (a type's own columns start at this ordinal).</summary>
    public static int Count => Columns.Length;

    /// <summary>The common columns as a select list.</summary>
    public static readonly string SelectList = string.Join(", ", Columns.Select(c => c.Name));

    /// <summary>The statuses a worker may still claim or a user cancel.</summary>
    public const string Unfinished = "status IN ('queued','processing')";

    /// <summary>The lease guard of a single-job write: only the claim that made this attempt may write, and only while
    /// it still runs. A parked job (<c>next_check_at</c> set) has no holder: nothing writes to it under its old lease.</summary>
    public const string LeaseGuard = "id = @id AND status = 'processing' AND attempts = @attempt AND next_check_at IS NULL";
}
