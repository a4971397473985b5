using System.Data.Common;
using Npgsql;
using NpgsqlTypes;
using Stefna.Sdk.Relational;

namespace Stefna.Sdk.Postgres;

/// <summary>PostgreSQL's side of the relational core: ids as <c>uuid</c>, times as <c>timestamptz</c>, tags as
/// <c>text[]</c>, meta as <c>jsonb</c>; typed Npgsql parameters; a job insert also notifies the queue channel (sent on
/// commit, only when a row was inserted).</summary>
internal sealed class PostgresDialect(string notificationChannel) : RelationalDialect
{
    public override string DatabaseName => "PostgreSQL";

    // PostgreSQL's canonical spellings (format_type), so a table can be checked against the schema.
    public override string TypeName(ColumnType type) => type switch
    {
        ColumnType.Id => "uuid",
        ColumnType.TextList => "text[]",
        ColumnType.JsonObject => "jsonb",
        ColumnType.Integer => "integer",
        ColumnType.Timestamp => "timestamp with time zone",
        _ => "text",
    };

    public override DbParameter Id(string name, Guid value) => new NpgsqlParameter<Guid>(name, value);

    public override DbParameter Text(string name, string? value) => new NpgsqlParameter(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value };

    public override DbParameter Integer(string name, int value) => new NpgsqlParameter<int>(name, value);

    public override DbParameter Time(string name, DateTimeOffset value) => new NpgsqlParameter<DateTimeOffset>(name, value.ToUniversalTime());

    public override DbParameter Tags(string name, IReadOnlyList<string> tags) => new NpgsqlParameter<string[]>(name, [.. tags]);

    public override DbParameter Json(string name, IReadOnlyDictionary<string, string> values) => new NpgsqlParameter(name, NpgsqlDbType.Jsonb) { Value = JobRows.JsonText(values) };

    public override Guid ReadId(DbDataReader reader, int ordinal) => reader.GetGuid(ordinal);

    public override DateTimeOffset ReadTime(DbDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);

    public override IReadOnlyList<string> ReadTags(DbDataReader reader, int ordinal) => reader.GetFieldValue<string[]>(ordinal);

    public override string HasTag(string tag) => $"tags @> ARRAY[{tag}]::text[]";

    public override string Before(string createdAt, string id) => $"(created_at, id) < ({createdAt}, {id})";

    public override string ColumnsAsJson(IReadOnlyList<string> columns) =>
        columns.Count == 0 ? "NULL::jsonb" : "jsonb_build_object(" + string.Join(", ", columns.Select(c => $"'{c}', {Quote(c)}")) + ")";

    public override string Greatest(string a, string b) => $"GREATEST({a}, {b})";

    public override string Least(string a, string b) => $"LEAST({a}, {b})";

    public override string InsertReturnsAlso => ", pg_notify(@channel, @type)::text";

    public override void AddInsertParameters(DbCommand command, string type)
    {
        command.Parameters.Add(new NpgsqlParameter<string>("channel", notificationChannel));
        command.Parameters.Add(new NpgsqlParameter<string>("type", type));
    }
}
