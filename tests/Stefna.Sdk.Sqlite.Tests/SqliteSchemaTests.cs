using Microsoft.Data.Sqlite;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Storage;
using Stefna.TestUtils;

namespace Stefna.Sdk.Sqlite.Tests;

/// <summary>What SQLite-specific tables, columns, indexes and settings the store creates and upgrades.</summary>
public sealed class SqliteSchemaTests : IDisposable
{
    private static readonly string[] CommonColumns =
    [
        "id", "user_id", "status", "prompt", "preset", "source_image_url", "image_url", "tags", "meta", "error_code",
        "error_message", "attempts", "lease_until", "provider_job_id", "idempotency_key", "legacy_id", "created_at", "updated_at", "next_check_at", "provider_deadline",
    ];

    private static readonly GenerationTypeDefinition Mask = new("schema-mask", "schema_mask_media", "Schema mask") { ExtraColumns = ["emotion"] };

    private static readonly GenerationTypeDefinition Plain = new("schema-plain", "schema_plain_media", "Schema plain");

    private readonly TempDirectory _folder = new();
    private readonly List<SqliteMediaStore> _stores = [];

    public void Dispose()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }

        _folder.Dispose();
    }

    /// <summary>An existing database file of zero bytes (a truncated database) is refused with an error naming the file,
    /// never initialised as a new empty database (before: it silently became one and its jobs were gone).</summary>
    [Fact]
    public async Task An_existing_empty_database_file_is_refused_not_reinitialised()
    {
        var path = _folder.File("truncated.db");
        await File.WriteAllBytesAsync(path, []);
        using var store = new SqliteMediaStore(new SqliteStoreOptions { DatabasePath = path });

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => store.InitializeAsync([Plain], CancellationToken.None));

        Assert.Contains(Path.GetFullPath(path), refused.Message, StringComparison.Ordinal);
        Assert.Contains("empty", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, new FileInfo(path).Length);
    }

    /// <summary>A file that is not a SQLite database is refused with an error naming it, and left as it was.</summary>
    [Fact]
    public async Task A_file_that_is_not_a_database_is_refused_and_left_untouched()
    {
        var path = _folder.File("notes.db");
        var content = System.Text.Encoding.UTF8.GetBytes("these are my notes, not a database; keep them\n");
        await File.WriteAllBytesAsync(path, content);
        using var store = new SqliteMediaStore(new SqliteStoreOptions { DatabasePath = path });

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => store.InitializeAsync([Plain], CancellationToken.None));

        Assert.Contains(Path.GetFullPath(path), refused.Message, StringComparison.Ordinal);
        Assert.Contains("not a SQLite database", refused.Message, StringComparison.Ordinal);
        Assert.Equal(content, await File.ReadAllBytesAsync(path));
    }

    /// <summary>An existing database is opened as before: a second store on the same file sees the first one's table.</summary>
    [Fact]
    public async Task An_existing_database_file_is_opened_again()
    {
        var path = _folder.File("again.db");
        using (var first = new SqliteMediaStore(new SqliteStoreOptions { DatabasePath = path }))
        {
            await first.InitializeAsync([Plain], CancellationToken.None);
        }

        using var second = new SqliteMediaStore(new SqliteStoreOptions { DatabasePath = path });
        await second.InitializeAsync([Plain], CancellationToken.None);
        Assert.Equal(0, await second.CountUnfinishedAsync(Plain.Name, CancellationToken.None));
    }

    [Fact]
    public async Task Initialize_creates_one_table_per_type_with_common_and_extra_columns()
    {
        var store = await StoreAsync([Mask, Plain]);

        Assert.Equal(CommonColumns.Order(StringComparer.Ordinal), (await ColumnsAsync(store, "schema_plain_media")).Order(StringComparer.Ordinal));
        Assert.Equal(CommonColumns.Append("emotion").Order(StringComparer.Ordinal), (await ColumnsAsync(store, "schema_mask_media")).Order(StringComparer.Ordinal));
        var tables = await QueryAsync(store, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name");
        Assert.Equal(["schema_mask_media", "schema_plain_media", "stefna_webhook_outbox"], tables); // one outbox for every type
    }

    [Fact]
    public async Task Initialize_creates_claim_feed_parked_and_idempotency_indexes()
    {
        var store = await StoreAsync([Plain]);

        var indexes = await QueryAsync(store, "SELECT name || ':' || sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'schema_plain_media' AND sql IS NOT NULL ORDER BY name");

        Assert.Collection(
            indexes,
            claim => Assert.Contains("(status, lease_until, created_at)", claim, StringComparison.Ordinal),
            feed => Assert.Contains("(user_id, created_at DESC, id DESC)", feed, StringComparison.Ordinal),
            parked => Assert.Contains("(next_check_at) WHERE next_check_at IS NOT NULL", parked, StringComparison.Ordinal),
            unique =>
            {
                Assert.StartsWith("ux_schema_plain_media_idempotency:CREATE UNIQUE INDEX", unique, StringComparison.Ordinal);
                Assert.Contains("WHERE idempotency_key IS NOT NULL", unique, StringComparison.Ordinal);
            });
    }

    [Fact]
    public async Task Database_runs_in_wal_mode_with_its_folder_created()
    {
        var path = Path.Combine(_folder.Path, "nested", "deeper", "stefna.db");
        var store = new SqliteMediaStore(new SqliteStoreOptions { DatabasePath = path });
        _stores.Add(store);

        await store.InitializeAsync([Plain], CancellationToken.None);

        Assert.True(File.Exists(path));
        Assert.Equal(["wal"], await QueryAsync(store, "PRAGMA journal_mode"));
    }

    [Fact]
    public async Task Timestamps_are_stored_as_integer_utc_ticks()
    {
        var store = await StoreAsync([Plain]);
        var createdAt = new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.FromHours(-5)).AddTicks(1234567);
        var job = new NewGenerationJob { Id = Guid.NewGuid(), Type = Plain.Name, UserId = "u", CreatedAt = createdAt };

        var inserted = await store.InsertAsync(job, CancellationToken.None);

        Assert.Equal(createdAt.UtcTicks, inserted.Job.CreatedAt.UtcTicks);
        Assert.Equal(TimeSpan.Zero, inserted.Job.CreatedAt.Offset);
        Assert.Equal([$"integer:{createdAt.UtcTicks}"], await QueryAsync(store, "SELECT typeof(created_at) || ':' || created_at FROM schema_plain_media"));
    }

    [Fact]
    public async Task Initialize_again_is_idempotent_and_keeps_the_jobs()
    {
        var store = await StoreAsync([Mask, Plain]);
        var job = NewJob(Mask, new Dictionary<string, string?> { ["emotion"] = "joy" });
        await store.InsertAsync(job, CancellationToken.None);

        await store.InitializeAsync([Mask, Plain], CancellationToken.None);
        var reopened = await StoreAsync([Mask, Plain]);

        var read = await reopened.GetAsync(Mask.Name, job.Id, job.UserId, CancellationToken.None);
        Assert.Equal("joy", read?.GetColumn("emotion"));
        Assert.Equal(CommonColumns.Length + 1, (await ColumnsAsync(reopened, "schema_mask_media")).Count);
        Assert.Equal(4, (await QueryAsync(reopened, "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'schema_mask_media' AND sql IS NOT NULL")).Count);
    }

    [Fact]
    public async Task Initialize_adds_new_extra_columns_to_an_existing_table()
    {
        var before = new GenerationTypeDefinition("schema-grow", "schema_grow_media", "Grow");
        var store = await StoreAsync([before]);
        var old = NewJob(before, new Dictionary<string, string?>());
        await store.InsertAsync(old, CancellationToken.None);

        var after = new GenerationTypeDefinition("schema-grow", "schema_grow_media", "Grow") { ExtraColumns = ["emotion", "intensity"] };
        var upgraded = await StoreAsync([after]);

        Assert.Contains("emotion", await ColumnsAsync(upgraded, "schema_grow_media"));
        Assert.Contains("intensity", await ColumnsAsync(upgraded, "schema_grow_media"));
        var oldRead = await upgraded.GetAsync(after.Name, old.Id, old.UserId, CancellationToken.None);
        Assert.NotNull(oldRead);
        Assert.Null(oldRead.GetColumn("emotion"));
        var fresh = NewJob(after, new Dictionary<string, string?> { ["emotion"] = "awe", ["intensity"] = "high" });
        await upgraded.InsertAsync(fresh, CancellationToken.None);
        var freshRead = await upgraded.GetAsync(after.Name, fresh.Id, fresh.UserId, CancellationToken.None);
        Assert.Equal("awe", freshRead?.GetColumn("emotion"));
        Assert.Equal("high", freshRead?.GetColumn("intensity"));
    }

    [Fact]
    public async Task A_table_from_before_parking_gains_the_parking_columns_and_its_jobs_can_be_parked()
    {
        // The table as releases before parking created it: no next_check_at, no provider_deadline.
        await using (var connection = new SqliteConnection($"Data Source={_folder.File("schema.db")};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var create = connection.CreateCommand();
            create.CommandText = """
                CREATE TABLE "schema_plain_media" (
                    id TEXT PRIMARY KEY NOT NULL, user_id TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'completed', 'failed', 'canceled')),
                    prompt TEXT, preset TEXT, source_image_url TEXT, image_url TEXT, tags TEXT NOT NULL DEFAULT '[]',
                    meta TEXT NOT NULL DEFAULT '{}', error_code TEXT, error_message TEXT, attempts INTEGER NOT NULL DEFAULT 0,
                    lease_until INTEGER, provider_job_id TEXT, idempotency_key TEXT, legacy_id TEXT,
                    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL) STRICT;
                """;
            await create.ExecuteNonQueryAsync();
        }

        var store = await StoreAsync([Plain]);

        Assert.Equal(CommonColumns.Order(StringComparer.Ordinal), (await ColumnsAsync(store, "schema_plain_media")).Order(StringComparer.Ordinal));
        var job = NewJob(Plain, new Dictionary<string, string?>());
        await store.InsertAsync(job, CancellationToken.None);
        var lease = Assert.Single(await store.ClaimAsync(Plain.Name, 1, TimeSpan.FromMinutes(1), 3, CancellationToken.None));
        Assert.True(await store.ParkAsync(lease, "gen-1", DateTimeOffset.UtcNow.AddSeconds(-1), DateTimeOffset.UtcNow.AddHours(1), CancellationToken.None));
        Assert.Equal(job.Id, Assert.Single((await store.ClaimParkedAsync(Plain.Name, 5, TimeSpan.FromMinutes(1), CancellationToken.None)).Leases).Id);
    }

    [Fact]
    public async Task Catalogue_rows_are_upserted_and_referenced_by_preset()
    {
        var v1 = CatalogType([new("portrait", "Portrait", "v1"), new("noir", "Noir", "Black and white.")]);
        var store = await StoreAsync([v1]);
        Assert.Equal(["noir|Noir|Black and white.", "portrait|Portrait|v1"], await CatalogAsync(store));

        var v2 = CatalogType([new("portrait", "Studio portrait", "v2 'quoted'"), new("noir", "Noir", "Black and white."), new("pop", "Pop art", "Bold colours.")]);
        var upgraded = await StoreAsync([v2]);
        await upgraded.InitializeAsync([v2], CancellationToken.None);

        Assert.Equal(["noir|Noir|Black and white.", "pop|Pop art|Bold colours.", "portrait|Studio portrait|v2 'quoted'"], await CatalogAsync(upgraded));

        // preset references the catalogue: a key it does not hold is refused.
        await upgraded.InsertAsync(NewJob(v2, new Dictionary<string, string?>()) with { Preset = "pop" }, CancellationToken.None);
        var unknown = NewJob(v2, new Dictionary<string, string?>()) with { Preset = "no-such-preset" };
        var error = await Assert.ThrowsAsync<SqliteException>(() => upgraded.InsertAsync(unknown, CancellationToken.None));
        Assert.Contains("FOREIGN KEY", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_types_and_columns_are_refused()
    {
        var store = await StoreAsync([Mask]);

        await Assert.ThrowsAsync<InvalidOperationException>(() => store.ClaimAsync("not-registered", 1, TimeSpan.FromMinutes(1), 3, CancellationToken.None).FirstLeaseAsync());
        var badColumn = NewJob(Mask, new Dictionary<string, string?> { ["emotion\"; DROP TABLE x;--"] = "x" });
        await Assert.ThrowsAsync<ArgumentException>(() => store.InsertAsync(badColumn, CancellationToken.None));
        Assert.Equal(0, await store.CountUnfinishedAsync(Mask.Name, CancellationToken.None));
    }

    [Fact]
    public async Task Table_names_reserved_by_sqlite_are_refused_with_a_clear_message()
    {
        var store = new SqliteMediaStore(new SqliteStoreOptions { DatabasePath = _folder.File("reserved.db") });
        _stores.Add(store);
        var reserved = new GenerationTypeDefinition("reserved", "sqlite_reserved_media", "Reserved");

        var error = await Assert.ThrowsAsync<ArgumentException>(() => store.InitializeAsync([Plain, reserved], CancellationToken.None));

        Assert.Contains("sqlite_reserved_media", error.Message, StringComparison.Ordinal);
    }

    private static GenerationTypeDefinition CatalogType(IReadOnlyList<CatalogEntry> entries) =>
        new("schema-catalog", "schema_catalog_media", "Catalogue") { Catalog = new CatalogDefinition("schema_presets", entries) };

    private static NewGenerationJob NewJob(GenerationTypeDefinition type, IReadOnlyDictionary<string, string?> columns) => new()
    {
        Id = Guid.NewGuid(),
        Type = type.Name,
        UserId = "schema-user",
        Columns = columns,
        CreatedAt = DateTimeOffset.UtcNow,
    };

    private async Task<SqliteMediaStore> StoreAsync(IReadOnlyList<GenerationTypeDefinition> types)
    {
        var store = new SqliteMediaStore(new SqliteStoreOptions { DatabasePath = _folder.File("schema.db") });
        _stores.Add(store);
        await store.InitializeAsync(types, CancellationToken.None);
        return store;
    }

    private static async Task<List<string>> ColumnsAsync(SqliteMediaStore store, string table) =>
        await QueryAsync(store, "SELECT name FROM pragma_table_info('" + table + "')");

    private static Task<List<string>> CatalogAsync(SqliteMediaStore store) =>
        QueryAsync(store, "SELECT key || '|' || name || '|' || description FROM schema_presets ORDER BY key");

    private static async Task<List<string>> QueryAsync(SqliteMediaStore store, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={store.DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)!);
        }

        return rows;
    }
}
