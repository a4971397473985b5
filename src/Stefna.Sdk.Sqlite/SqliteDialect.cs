using System.Data.Common;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Stefna.Sdk.Relational;

namespace Stefna.Sdk.Sqlite;

/// <summary>SQLite's side of the relational core: ids as text, times as UTC ticks (lossless), tags as a JSON array,
/// meta and a type's own columns as JSON objects (the JSON1 functions).</summary>
internal sealed class SqliteDialect : RelationalDialect
{
    public static readonly SqliteDialect Instance = new();

    private static readonly JsonSerializerOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public override string DatabaseName => "SQLite";

    public override string TypeName(ColumnType type) => type is ColumnType.Integer or ColumnType.Timestamp ? "INTEGER" : "TEXT";

    public override DbParameter Id(string name, Guid value) => new SqliteParameter("@" + name, SqliteType.Text) { Value = IdText(value) };

    public override DbParameter Text(string name, string? value) => new SqliteParameter("@" + name, SqliteType.Text) { Value = (object?)value ?? DBNull.Value };

    public override DbParameter Integer(string name, int value) => new SqliteParameter("@" + name, SqliteType.Integer) { Value = value };

    public override DbParameter Time(string name, DateTimeOffset value) => new SqliteParameter("@" + name, SqliteType.Integer) { Value = value.UtcTicks };

    public override DbParameter Tags(string name, IReadOnlyList<string> tags) => new SqliteParameter("@" + name, SqliteType.Text) { Value = JsonSerializer.Serialize(tags, JsonOptions) };

    public override DbParameter Json(string name, IReadOnlyDictionary<string, string> values) => new SqliteParameter("@" + name, SqliteType.Text) { Value = JobRows.JsonText(values) };

    public override Guid ReadId(DbDataReader reader, int ordinal) => Guid.Parse(reader.GetString(ordinal));

    public override DateTimeOffset ReadTime(DbDataReader reader, int ordinal) => FromTicks(reader.GetInt64(ordinal));

    public override IReadOnlyList<string> ReadTags(DbDataReader reader, int ordinal) =>
        JsonSerializer.Deserialize<List<string>>(reader.GetString(ordinal), JsonOptions) ?? [];

    public override string HasTag(string tag) => $"EXISTS (SELECT 1 FROM json_each(tags) WHERE json_each.value = {tag})";

    public override string Before(string createdAt, string id) => $"(created_at < {createdAt} OR (created_at = {createdAt} AND id < {id}))";

    public override string ColumnsAsJson(IReadOnlyList<string> columns) =>
        columns.Count == 0 ? "NULL" : "json_object(" + string.Join(", ", columns.Select(c => $"'{c}', {Quote(c)}")) + ")";

    public override string Greatest(string a, string b) => $"max({a}, {b})";

    public override string Least(string a, string b) => $"min({a}, {b})";

    /// <summary>The stored form of an id.</summary>
    public static string IdText(Guid id) => id.ToString("D");

    /// <summary>A time from its stored UTC ticks.</summary>
    public static DateTimeOffset FromTicks(long utcTicks) => new(utcTicks, TimeSpan.Zero);
}
