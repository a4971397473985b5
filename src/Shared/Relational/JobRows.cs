using System.Buffers;
using System.Collections.Frozen;
using System.Data.Common;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Stefna.Sdk.Generators;

namespace Stefna.Sdk.Relational;

/// <summary>Reads a <see cref="GenerationJob"/> from a row laid out as <see cref="JobSchema"/> says, and writes and
/// reads the JSON objects the tables keep (meta; a type's own columns in the feed).</summary>
internal static class JobRows
{
    private static readonly IReadOnlyDictionary<string, string?> EmptyColumns = FrozenDictionary<string, string?>.Empty;

    private static readonly IReadOnlyDictionary<string, string> EmptyMeta = FrozenDictionary<string, string>.Empty;

    // Non-ASCII text stays readable in the stored JSON (both databases parse it anyway).
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Reads a row of one type's table: the common columns from <paramref name="offset"/>, then the type's own
    /// columns one by one.</summary>
    public static GenerationJob Read(RelationalDialect dialect, DbDataReader reader, int offset, GenerationTypeDefinition definition)
    {
        var extras = definition.ExtraColumns;
        var columns = EmptyColumns;
        if (extras.Count > 0)
        {
            var values = new Dictionary<string, string?>(extras.Count, StringComparer.Ordinal);
            for (var i = 0; i < extras.Count; i++)
            {
                values[extras[i]] = NullableText(reader, offset + JobSchema.Count + i);
            }

            columns = values;
        }

        return Read(dialect, reader, offset, definition.Name, columns);
    }

    /// <summary>Reads a feed row: the type's name, the common columns, then the type's own columns as one JSON object
    /// (<see cref="RelationalDialect.ColumnsAsJson"/>).</summary>
    public static GenerationJob ReadFeedRow(RelationalDialect dialect, DbDataReader reader)
    {
        var extras = 1 + JobSchema.Count;
        var columns = reader.IsDBNull(extras) ? EmptyColumns : ParseColumns(reader.GetString(extras));
        return Read(dialect, reader, 1, reader.GetString(0), columns);
    }

    private static GenerationJob Read(RelationalDialect dialect, DbDataReader reader, int o, string type, IReadOnlyDictionary<string, string?> columns)
    {
        var errorCode = NullableText(reader, o + JobSchema.ErrorCode);
        return new GenerationJob
        {
            Id = dialect.ReadId(reader, o + JobSchema.Id),
            Type = type,
            UserId = reader.GetString(o + JobSchema.UserId),
            Status = GenerationStatusNames.Parse(reader.GetString(o + JobSchema.Status)),
            Prompt = NullableText(reader, o + JobSchema.Prompt),
            Preset = NullableText(reader, o + JobSchema.Preset),
            SourceImageUrl = NullableText(reader, o + JobSchema.SourceImageUrl),
            ImageUrl = NullableText(reader, o + JobSchema.ImageUrl),
            Tags = reader.IsDBNull(o + JobSchema.Tags) ? [] : dialect.ReadTags(reader, o + JobSchema.Tags),
            Meta = reader.IsDBNull(o + JobSchema.Meta) ? EmptyMeta : ParseMeta(reader.GetString(o + JobSchema.Meta)),
            Error = errorCode is null ? null : new GenerationError(GenerationError.CategoryFromCode(errorCode), errorCode, NullableText(reader, o + JobSchema.ErrorMessage) ?? string.Empty),
            Attempts = reader.GetInt32(o + JobSchema.Attempts),
            LeaseUntil = dialect.ReadNullableTime(reader, o + JobSchema.LeaseUntil),
            ProviderJobId = NullableText(reader, o + JobSchema.ProviderJobId),
            IdempotencyKey = NullableText(reader, o + JobSchema.IdempotencyKey),
            LegacyId = NullableText(reader, o + JobSchema.LegacyId),
            CreatedAt = dialect.ReadTime(reader, o + JobSchema.CreatedAt),
            UpdatedAt = dialect.ReadTime(reader, o + JobSchema.UpdatedAt),
            NextCheckAt = dialect.ReadNullableTime(reader, o + JobSchema.NextCheckAt),
            ProviderDeadline = dialect.ReadNullableTime(reader, o + JobSchema.ProviderDeadline),
            Columns = columns,
        };
    }

    /// <summary>Reads nullable text.</summary>
    public static string? NullableText(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    /// <summary>Writes a JSON object of text values.</summary>
    public static string JsonText(IReadOnlyDictionary<string, string> values)
    {
        var buffer = new ArrayBufferWriter<byte>(64 + values.Count * 32);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            foreach (var pair in values)
            {
                writer.WriteString(pair.Key, pair.Value);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    // Legacy rows may carry numbers, booleans or objects in meta: those keep their JSON text; a null is no value.
    // An empty object (most queued jobs) shares one empty map: a host may hold thousands of jobs.
    private static IReadOnlyDictionary<string, string> ParseMeta(string json)
    {
        using var document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.EnumerateObject().Any())
        {
            return EmptyMeta;
        }

        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in document.RootElement.EnumerateObject())
        {
            switch (property.Value.ValueKind)
            {
                case JsonValueKind.String:
                    meta[property.Name] = property.Value.GetString()!;
                    break;
                case JsonValueKind.Null:
                    break;
                default:
                    meta[property.Name] = property.Value.GetRawText();
                    break;
            }
        }

        return meta;
    }

    private static IReadOnlyDictionary<string, string?> ParseColumns(string json)
    {
        using var document = JsonDocument.Parse(json);
        var columns = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var property in document.RootElement.EnumerateObject())
        {
            columns[property.Name] = property.Value.ValueKind == JsonValueKind.Null ? null : property.Value.GetString();
        }

        return columns;
    }
}
