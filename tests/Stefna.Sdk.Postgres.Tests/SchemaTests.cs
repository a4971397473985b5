using Npgsql;
using Stefna.Sdk.Generators;
using Stefna.TestUtils;

namespace Stefna.Sdk.Postgres.Tests;

public sealed class SchemaTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task Migrate_creates_the_design_columns_and_indexes_and_is_idempotent()
    {
        var type = TestTypes.Unique("schema", extraColumns: ["emotion"]);
        await using var store = new PostgresMediaStore(database.CreateDataSource());

        var first = await store.MigrateAsync([type]);
        var second = await store.MigrateAsync([type]);
        await store.InitializeAsync([type], CancellationToken.None);

        Assert.True(first >= 1);
        Assert.Equal(0, second);
        var history = await TestTypes.ScalarAsync<long>(database.ConnectionString, "SELECT count(*) FROM stefna_schema_migrations WHERE scope = @s", ("s", "table:" + type.TableName));
        Assert.Equal(2, history); // create table, parked jobs

        var columns = new Dictionary<string, string>();
        await using (var connection = new NpgsqlConnection(database.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT column_name, udt_name FROM information_schema.columns WHERE table_name = @t", connection);
            command.Parameters.AddWithValue("t", type.TableName);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                columns[reader.GetString(0)] = reader.GetString(1);
            }
        }

        Assert.Equal("uuid", columns["id"]);
        Assert.Equal("_text", columns["tags"]);
        Assert.Equal("jsonb", columns["meta"]);
        Assert.Equal("int4", columns["attempts"]);
        Assert.Equal("timestamptz", columns["lease_until"]);
        Assert.Equal("timestamptz", columns["created_at"]);
        Assert.Equal("text", columns["emotion"]);
        foreach (var common in GenerationTypeDefinition.CommonColumns)
        {
            Assert.True(columns.ContainsKey(common), $"missing column {common}");
        }

        var indexes = new List<string>();
        await using (var connection = new NpgsqlConnection(database.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT indexdef FROM pg_indexes WHERE tablename = @t", connection);
            command.Parameters.AddWithValue("t", type.TableName);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                indexes.Add(reader.GetString(0));
            }
        }

        Assert.Contains(indexes, i => i.Contains("(created_at, id) WHERE (status = ANY", StringComparison.Ordinal));
        Assert.Contains(indexes, i => i.Contains("(user_id, created_at DESC, id DESC)", StringComparison.Ordinal));
        Assert.Contains(indexes, i => i.Contains("USING gin (tags)", StringComparison.Ordinal));
        Assert.Contains(indexes, i => i.StartsWith("CREATE UNIQUE INDEX", StringComparison.Ordinal) && i.Contains("(user_id, idempotency_key) WHERE (idempotency_key IS NOT NULL)", StringComparison.Ordinal));
        Assert.Contains(indexes, i => i.StartsWith("CREATE UNIQUE INDEX", StringComparison.Ordinal) && i.Contains("(legacy_id) WHERE (legacy_id IS NOT NULL)", StringComparison.Ordinal));
        Assert.Contains(indexes, i => i.Contains("(next_check_at) WHERE (next_check_at IS NOT NULL)", StringComparison.Ordinal));
        Assert.Equal("timestamptz", columns["next_check_at"]);
        Assert.Equal("timestamptz", columns["provider_deadline"]);
    }

    [Fact]
    public async Task Stores_migrating_a_fresh_database_at_the_same_moment_make_one_schema_without_error()
    {
        var connectionString = await PostgresServer.CreateDatabaseAsync("stefna_race");
        try
        {
            var type = TestTypes.Unique("race");
            var stores = Enumerable.Range(0, 6).Select(_ => new PostgresMediaStore(NpgsqlDataSource.Create(connectionString))).ToArray();
            using var barrier = new Barrier(stores.Length);
            var runs = stores.Select(s => Task.Run(async () =>
            {
                barrier.SignalAndWait();
                return await s.MigrateAsync([type]);
            })).ToArray();

            var applied = await Task.WhenAll(runs);

            // core v1, v2 (webhook outbox) and v3 (its prune index) + the table's v1 and v2, applied by exactly one of them.
            Assert.Equal(5, applied.Sum());
            Assert.Equal(5L, await TestTypes.ScalarAsync<long>(connectionString, "SELECT count(*) FROM stefna_schema_migrations"));
            Assert.Equal(1L, await TestTypes.ScalarAsync<long>(connectionString, "SELECT count(*) FROM pg_tables WHERE tablename = @t", ("t", type.TableName)));
            foreach (var store in stores)
            {
                await store.DisposeAsync();
                await store.DataSource.DisposeAsync();
            }
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(connectionString);
        }
    }

    [Fact]
    public async Task A_type_added_later_gets_its_table_on_an_existing_database_and_new_columns_are_added()
    {
        var first = TestTypes.Unique("first");
        await using var store = new PostgresMediaStore(database.CreateDataSource());
        await store.MigrateAsync([first]);
        var job = TestTypes.Job(first);
        await store.InsertAsync(job, CancellationToken.None);

        // Later release: a second type, and the first type gains a column.
        var second = TestTypes.Unique("second");
        var firstUpgraded = new GenerationTypeDefinition(first.Name, first.TableName, first.DisplayName) { ExtraColumns = ["mood"], RequiresSourceImage = false };
        await using var upgraded = new PostgresMediaStore(database.CreateDataSource());
        await upgraded.InitializeAsync([firstUpgraded, second], CancellationToken.None);

        var kept = await upgraded.GetAsync(first.Name, job.Id, job.UserId, CancellationToken.None);
        Assert.NotNull(kept);
        Assert.Null(kept.GetColumn("mood"));
        var inserted = await upgraded.InsertAsync(TestTypes.Job(firstUpgraded) with { Columns = new Dictionary<string, string?> { ["mood"] = "calm" } }, CancellationToken.None);
        Assert.Equal("calm", inserted.Job.GetColumn("mood"));
        Assert.True((await upgraded.InsertAsync(TestTypes.Job(second), CancellationToken.None)).Created);
    }

    [Fact]
    public async Task Migrating_again_takes_no_table_lock_so_an_open_transaction_on_the_table_does_not_block_it()
    {
        var catalog = new CatalogDefinition("lockcat_" + Guid.NewGuid().ToString("N")[..8], [new("studio", "Studio", "Clean studio light"), new("noir", "Noir", "Black and white")]);
        var type = TestTypes.Unique("lock", extraColumns: ["emotion", "reaction"], catalog: catalog);
        await using var store = new PostgresMediaStore(database.CreateDataSource());
        await store.MigrateAsync([type]);
        await store.InsertAsync(TestTypes.Job(type), CancellationToken.None);

        // A live transaction on the table (a worker mid-claim, a submit not yet committed, a long report): ACCESS
        // SHARE, row locks, and the key-share lock its preset's foreign key holds on the catalogue row.
        await using var holder = new NpgsqlConnection(database.ConnectionString);
        await holder.OpenAsync();
        await using var open = await holder.BeginTransactionAsync();
        await using (var read = new NpgsqlCommand($"SELECT count(*) FROM {type.TableName}", holder, open))
        {
            await read.ExecuteScalarAsync();
        }

        await using (var submit = new NpgsqlCommand($"INSERT INTO {type.TableName} (id, user_id, preset) VALUES (@id, 'u', 'studio')", holder, open))
        {
            submit.Parameters.AddWithValue("id", Guid.NewGuid());
            await submit.ExecuteNonQueryAsync();
        }

        await using (var locked = new NpgsqlCommand($"SELECT id FROM {type.TableName} FOR UPDATE", holder, open))
        {
            await locked.ExecuteScalarAsync();
        }

        // A second host starting: the same definition, nothing to change, so nothing to wait for.
        await using var restarted = new PostgresMediaStore(database.CreateDataSource());
        var applied = await restarted.MigrateAsync([type]).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(0, applied);
        Assert.Equal(0L, await TestTypes.ScalarAsync<long>(database.ConnectionString,
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE NOT l.granted AND l.relation = to_regclass(@t)", ("t", type.TableName)));
        await open.RollbackAsync();
    }

    [Fact]
    public async Task A_catalogue_type_gets_its_reference_table_and_the_preset_column_is_a_foreign_key()
    {
        var catalog = new CatalogDefinition("cat_" + Guid.NewGuid().ToString("N")[..8], [new("studio", "Studio", "Clean studio light"), new("noir", "Noir", "Black and white")]);
        var type = TestTypes.Unique("cat", catalog: catalog);
        await using var store = new PostgresMediaStore(database.CreateDataSource());
        await store.InitializeAsync([type], CancellationToken.None);

        Assert.Equal(2L, await TestTypes.ScalarAsync<long>(database.ConnectionString, $"SELECT count(*) FROM {catalog.TableName} WHERE NOT retired"));
        Assert.True((await store.InsertAsync(TestTypes.Job(type, preset: "studio"), CancellationToken.None)).Created);
        var refused = await Assert.ThrowsAsync<PostgresException>(() => store.InsertAsync(TestTypes.Job(type, preset: "no-such-preset"), CancellationToken.None));
        Assert.Equal(PostgresErrorCodes.ForeignKeyViolation, refused.SqlState);

        // An entry dropped from the catalogue is retired, not deleted (old jobs still point at it); a new one appears.
        var next = new CatalogDefinition(catalog.TableName, [new("studio", "Studio II", "Softer light"), new("vivid", "Vivid", "Saturated")]);
        var nextType = new GenerationTypeDefinition(type.Name, type.TableName, type.DisplayName) { Catalog = next, RequiresSourceImage = false };
        await store.MigrateAsync([nextType]);
        Assert.True(await TestTypes.ScalarAsync<bool>(database.ConnectionString, $"SELECT retired FROM {catalog.TableName} WHERE key = 'noir'"));
        Assert.Equal("Studio II", await TestTypes.ScalarAsync<string>(database.ConnectionString, $"SELECT name FROM {catalog.TableName} WHERE key = 'studio'"));
        Assert.False(await TestTypes.ScalarAsync<bool>(database.ConnectionString, $"SELECT retired FROM {catalog.TableName} WHERE key = 'vivid'"));
    }

    [Fact]
    public async Task Without_migrate_on_initialize_a_missing_table_is_reported()
    {
        var type = TestTypes.Unique("verify");
        await using var store = new PostgresMediaStore(Microsoft.Extensions.Options.Options.Create(new PostgresStoreOptions { ConnectionString = database.ConnectionString, MigrateOnInitialize = false }));
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => store.InitializeAsync([type], CancellationToken.None));
        Assert.Contains(type.TableName, error.Message, StringComparison.Ordinal);
    }
}
