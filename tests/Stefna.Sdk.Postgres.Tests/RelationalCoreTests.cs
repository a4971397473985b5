using Npgsql;
using Stefna.Sdk.Relational;
using Stefna.TestUtils;

namespace Stefna.Sdk.Postgres.Tests;

/// <summary>The relational core shared with the SQLite store answers the same way here (the SQLite project has the
/// same facts).</summary>
public sealed class RelationalCoreTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task A_type_the_store_was_not_initialised_with_is_refused_naming_the_type_as_on_SQLite()
    {
        await using var store = new PostgresMediaStore(database.CreateDataSource());
        await store.InitializeAsync([TestTypes.Unique("core")], CancellationToken.None);

        var get = await Assert.ThrowsAsync<InvalidOperationException>(() => store.GetAsync("core-unknown", Guid.NewGuid(), "u", CancellationToken.None));
        Assert.Equal("The PostgreSQL store has no table for generation type 'core-unknown': it was not among the types passed to InitializeAsync.", get.Message);
        var feed = await Assert.ThrowsAsync<InvalidOperationException>(() => store.QueryFeedAsync(new FeedQuery { UserId = "u", Types = ["core-unknown"] }, CancellationToken.None));
        Assert.Equal(get.Message, feed.Message);
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.CountUnfinishedAsync(null!, CancellationToken.None));
    }

    [Fact]
    public async Task The_migrated_tables_have_the_core_schemas_columns_in_order_with_their_types_and_nullability()
    {
        var type = TestTypes.Unique("corecols", extraColumns: ["emotion"]);
        await using var store = new PostgresMediaStore(database.CreateDataSource());
        await store.InitializeAsync([type], CancellationToken.None);

        var dialect = new PostgresDialect("unused");
        Assert.Equal(
            JobSchema.Columns.Select(c => (c.Name, dialect.TypeName(c.Type), c.Nullable)).Append(("emotion", "text", true)),
            await ColumnsAsync(store.DataSource, type.TableName));

        // Migration 2's text stays as applied; the core's outbox schema (which SQLite's table is made from) must agree.
        Assert.Equal(
            WebhookOutboxSql.TableColumns.Select(c => (c.Name, dialect.TypeName(c.Type), !c.Constraint.Contains("NOT NULL", StringComparison.Ordinal) && !c.Constraint.Contains("PRIMARY KEY", StringComparison.Ordinal))),
            await ColumnsAsync(store.DataSource, WebhookOutboxSql.Table));
    }

    private static async Task<List<(string Name, string Type, bool Nullable)>> ColumnsAsync(NpgsqlDataSource dataSource, string table)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT a.attname::text, format_type(a.atttypid, NULL), NOT a.attnotnull
            FROM pg_attribute a WHERE a.attrelid = to_regclass(@table) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
            """);
        command.Parameters.AddWithValue("table", table);
        var columns = new List<(string, string, bool)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            columns.Add((reader.GetString(0), reader.GetString(1), reader.GetBoolean(2)));
        }

        return columns;
    }
}
