using Microsoft.Data.Sqlite;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Relational;
using Stefna.TestUtils;

namespace Stefna.Sdk.Sqlite.Tests;

/// <summary>The relational core shared with the PostgreSQL store (src/Shared/Relational, compiled into both store
/// assemblies): its one ordered column schema and identifier check, as this assembly's copy sees them.</summary>
public sealed class RelationalCoreTests : IDisposable
{
    private readonly TempDirectory _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void The_ordered_schema_holds_exactly_the_common_columns_once_and_its_ordinals_point_at_them()
    {
        var names = JobSchema.Columns.Select(c => c.Name).ToArray();
        Assert.Equal(names.Length, names.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(GenerationTypeDefinition.CommonColumns.Order(StringComparer.Ordinal), names.Order(StringComparer.Ordinal));
        Assert.Equal(string.Join(", ", names), JobSchema.SelectList);
        Assert.Equal("id", names[JobSchema.Id]);
        Assert.Equal("tags", names[JobSchema.Tags]);
        Assert.Equal("meta", names[JobSchema.Meta]);
        Assert.Equal("error_code", names[JobSchema.ErrorCode]);
        Assert.Equal("created_at", names[JobSchema.CreatedAt]);
        Assert.Equal("provider_deadline", names[JobSchema.ProviderDeadline]);
    }

    [Fact]
    public async Task New_SQLite_tables_are_made_from_the_core_schemas_job_columns_then_type_columns_and_the_outbox()
    {
        var path = Path.Combine(_folder.Path, "core.db");
        using var store = new SqliteMediaStore(new SqliteStoreOptions { DatabasePath = path });
        await store.InitializeAsync([new GenerationTypeDefinition("core-mask", "core_mask_media", "Core mask") { ExtraColumns = ["emotion", "tone"] }], CancellationToken.None);

        var expected = JobSchema.Columns.Select(c => (c.Name, SqliteDialect.Instance.TypeName(c.Type), !c.Nullable))
            .Append(("emotion", "TEXT", false)).Append(("tone", "TEXT", false));
        Assert.Equal(expected, await ColumnsAsync(path, "core_mask_media"));
        Assert.Equal(
            WebhookOutboxSql.TableColumns.Select(c => (c.Name, SqliteDialect.Instance.TypeName(c.Type), c.Constraint.Contains("NOT NULL", StringComparison.Ordinal))),
            await ColumnsAsync(path, WebhookOutboxSql.Table));
    }

    private static async Task<List<(string Name, string Type, bool NotNull)>> ColumnsAsync(string path, string table)
    {
        var columns = new List<(string Name, string Type, bool NotNull)>();
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, type, \"notnull\" FROM pragma_table_info(@table) ORDER BY cid";
        command.Parameters.AddWithValue("@table", table);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            columns.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2) == 1));
        }

        return columns;
    }

    [Fact]
    public async Task A_type_the_store_was_not_initialised_with_is_refused_naming_the_type_as_on_PostgreSQL()
    {
        using var store = new SqliteMediaStore(new SqliteStoreOptions { DatabasePath = Path.Combine(_folder.Path, "unknown.db") });
        await store.InitializeAsync([new GenerationTypeDefinition("core-plain", "core_plain_media", "Core plain")], CancellationToken.None);

        var get = await Assert.ThrowsAsync<InvalidOperationException>(() => store.GetAsync("core-unknown", Guid.NewGuid(), "u", CancellationToken.None));
        Assert.Equal("The SQLite store has no table for generation type 'core-unknown': it was not among the types passed to InitializeAsync.", get.Message);
        var feed = await Assert.ThrowsAsync<InvalidOperationException>(() => store.QueryFeedAsync(new FeedQuery { UserId = "u", Types = ["core-unknown"] }, CancellationToken.None));
        Assert.Equal(get.Message, feed.Message);
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.CountUnfinishedAsync(null!, CancellationToken.None));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Upper")]
    [InlineData("1starts_with_digit")]
    [InlineData("has space")]
    [InlineData("quote\"d")]
    [InlineData("x; DROP TABLE jobs")]
    public void Quote_refuses_what_is_not_a_schema_identifier(string name) =>
        Assert.Throws<ArgumentException>(() => RelationalDialect.Quote(name));

    [Fact]
    public void Quote_accepts_a_schema_identifier_of_up_to_63_characters()
    {
        Assert.Equal("\"neo_glitch_media\"", RelationalDialect.Quote("neo_glitch_media"));
        Assert.Equal("\"" + new string('a', 63) + "\"", RelationalDialect.Quote(new string('a', 63)));
        Assert.Throws<ArgumentException>(() => RelationalDialect.Quote(new string('a', 64)));
    }
}
