using Npgsql;
using Stefna.Sdk.Legacy;
using Stefna.Sdk.Postgres.Legacy;
using Stefna.TestUtils;
using static Stefna.Sdk.Postgres.Tests.LegacyTestSupport;

namespace Stefna.Sdk.Postgres.Tests;

/// <summary>The legacy migration on a hand-checked fixture: exact counts, mapping, re-runs, dry run, verification,
/// drop, and another source database. Each test gets its own database.</summary>
public sealed class LegacyMigrationTests : IAsyncLifetime
{
    private string _db = null!;

    public async Task InitializeAsync()
    {
        _db = await PostgresServer.CreateDatabaseAsync("stefna_legacy");
        await CreateFixtureAsync(_db);
    }

    public Task DisposeAsync() => PostgresServer.DropDatabaseAsync(_db);

    [Fact]
    public async Task Fixture_migrates_with_exact_balanced_counts_and_a_second_run_changes_nothing()
    {
        await PlantExistingAsync(_db);
        await using var dataSource = NpgsqlDataSource.Create(_db);
        await using var migrator = Migrator(dataSource);
        var progress = new List<MigrationProgress>();

        var report = await migrator.RunAsync(new SyncProgress(progress.Add));

        Assert.Equal(Fixture.Count, report.Total);
        Assert.True(report.IsBalanced);
        Assert.Equal(
            [("custom-prompt", 6L, 0L), ("emotion-mask", 4L, 0L), ("ghibli-reaction", 4L, 0L), ("neo-glitch", 6L, 2L), ("presets", 5L, 1L)],
            report.Types.Select(t => (t.Type, t.Migrated, t.AlreadyPresent)));
        Assert.Equal(
            [("no url", 2L, "ma_27,ma_28"), ("no user id", 1L, "ma_33"), ("conflicting signals", 2L, "ma_29,ma_30"), ("no rule matched", 2L, "ma_31,ma_32")],
            report.UnclassifiedRows.Select(u => (u.ReasonText, u.Count, string.Join(",", u.Ids.Order(StringComparer.Ordinal)))));
        Assert.Equal(2, report.CatalogEntriesAdded);
        Assert.Equal(Fixture.Count, progress[^1].RowsDone);

        // Mapping, checked on a few rows; ids agree with the C# derivation.
        var ma3 = await RowAsync("neo_glitch_media", "ma_3");
        Assert.Equal((LegacyIds.ToRowId("ma_3").ToString(), "u2", Url(3), "me, neon", "neo_tokyo_visor", "completed", 0, "{neo-glitch}"), ma3);
        Assert.Equal("{neo-glitch,night,portrait}", (await RowAsync("neo_glitch_media", "ma_6")).Tags);
        Assert.Equal(UuidId, (await RowAsync("neo_glitch_media", UuidId)).Id);
        Assert.Equal(UpperUuidId.ToLowerInvariant(), (await RowAsync("custom_prompt_media", UpperUuidId)).Id);
        Assert.Equal("b7e5c2a0-1111-4c4c-8888-123456789abc", (await RowAsync("neo_glitch_media", UuidId)).User);
        Assert.Equal("joy", await TestTypes.ScalarAsync<string>(_db, "SELECT emotion FROM emotion_mask_media WHERE legacy_id = 'ma_7'"));
        Assert.Equal("crying", await TestTypes.ScalarAsync<string>(_db, "SELECT reaction FROM ghibli_reaction_media WHERE legacy_id = 'ma_16'"));
        Assert.Equal(LegacyTestSupport.Time(11).UtcDateTime, await TestTypes.ScalarAsync<DateTime>(_db, "SELECT created_at FROM presets_media WHERE legacy_id = 'ma_11'"));
        Assert.Equal("\"{\\\"generation_type\\\":\\\"neo-glitch\\\"}\"", await TestTypes.ScalarAsync<string>(_db, "SELECT meta::text FROM custom_prompt_media WHERE legacy_id = 'ma_22'"));
        Assert.Equal(2L, await TestTypes.ScalarAsync<long>(_db, "SELECT count(*) FROM presets_catalog WHERE retired AND key IN ('retro_vhs', 'vintage_sepia')"));
        Assert.Equal(0L, await TestTypes.ScalarAsync<long>(_db, "SELECT count(*) FROM pg_tables WHERE tablename = 'stefna_legacy_staging'"));
        var before = await TargetChecksumAsync(_db);

        var again = await migrator.RunAsync();

        Assert.Equal(0, again.Migrated);
        Assert.Equal(Fixture.Count - 7, again.AlreadyPresent);
        Assert.Equal(7, again.Unclassified);
        Assert.True(again.IsBalanced);
        Assert.Equal(0, again.CatalogEntriesAdded);
        Assert.Equal(before, await TargetChecksumAsync(_db));
    }

    [Fact]
    public async Task Sql_and_csharp_classify_and_derive_ids_alike_on_seeded_rows()
    {
        await using var dataSource = NpgsqlDataSource.Create(_db);
        await LegacySeeder.SeedAsync(dataSource, Types, 3000, seed: 7);
        await using var migrator = Migrator(dataSource);
        await using var connection = await dataSource.OpenConnectionAsync();
        var sql = await migrator.PrepareSqlAsync(connection, default);
        await TestTypes.ExecuteAsync(_db, "CREATE EXTENSION IF NOT EXISTS pgcrypto");
        var pgcrypto = LegacySql.UuidV5Expression("pgcrypto", "public");

        await using var command = new NpgsqlCommand($"SELECT c.id, c.user_id, c.url, c.prompt, c.preset_key, c.meta::text, c.cls, c.new_id, {string.Format(System.Globalization.CultureInfo.InvariantCulture, pgcrypto, "c.id")} FROM ({sql.ClassifiedSelect("media_assets")}) c", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = 0;
        var kinds = new HashSet<string>();
        while (await reader.ReadAsync())
        {
            rows++;
            string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            var expected = migrator.Classifier.Classify(new LegacyRow(Text(0), Text(1), Text(2), Text(3), Text(4), Text(5)));
            var cls = reader.GetInt32(6);
            var actual = cls >= 0 ? sql.Types[cls].Name : LegacyClassifier.ReasonText((LegacyUnclassifiedReason)(-cls));
            Assert.True((expected.Type ?? LegacyClassifier.ReasonText(expected.Reason!.Value)) == actual, $"row {Text(0)}: C# says {expected.Explanation}, SQL says {actual}");
            kinds.Add(expected.Signal?.ToString() ?? expected.Reason.ToString()!);
            Assert.Equal(LegacyIds.ToRowId(Text(0)!), reader.GetGuid(7));
            if (!LegacyIds.IsCanonicalUuid(Text(0)!))
            {
                Assert.Equal(reader.GetGuid(7), reader.GetGuid(8));
            }
        }

        Assert.Equal(3000 + Fixture.Count, rows);

        // The seed exercises every rule kind and every reason (except a null id, which it never writes).
        Assert.Superset(new HashSet<string> { "GenerationType", "Mode", "PresetKeyPrefix", "PresetKey", "PromptFallback", "NoUrl", "ConflictingSignals", "NoRuleMatched" }, kinds);
    }

    [Fact]
    public async Task Dry_run_writes_nothing_and_predicts_the_run()
    {
        await using var dataSource = NpgsqlDataSource.Create(_db);
        await using var migrator = Migrator(dataSource);
        var legacyBefore = await TestTypes.ScalarAsync<string>(_db, "SELECT md5(string_agg(m::text, ',' ORDER BY m::text)) FROM media_assets m");

        var dry = await migrator.DryRunAsync();

        Assert.True(dry.IsDryRun);
        Assert.True(dry.IsBalanced);
        Assert.Equal(0L, await TestTypes.ScalarAsync<long>(_db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'media_assets'"));
        Assert.Equal(legacyBefore, await TestTypes.ScalarAsync<string>(_db, "SELECT md5(string_agg(m::text, ',' ORDER BY m::text)) FROM media_assets m"));

        var run = await migrator.RunAsync();

        Assert.Equal(run.Types, dry.Types);
        Assert.Equal(run.CatalogEntriesAdded, dry.CatalogEntriesAdded);
        Assert.Equal(run.UnclassifiedRows.Select(u => (u.Reason, u.Count, string.Join(",", u.Ids))), dry.UnclassifiedRows.Select(u => (u.Reason, u.Count, string.Join(",", u.Ids))));
    }

    [Fact]
    public async Task Verification_names_a_tampered_row_and_guards_the_drop()
    {
        await using var dataSource = NpgsqlDataSource.Create(_db);
        await using var migrator = Migrator(dataSource);
        await migrator.RunAsync();

        var never = await Assert.ThrowsAsync<LegacyMigrationException>(() => migrator.DropLegacyAsync());
        Assert.Contains("never verified", never.Message, StringComparison.Ordinal);

        var passed = await migrator.VerifyAsync();
        Assert.True(passed.Passed, string.Join("; ", passed.Differences));
        Assert.Equal(Types.Count, passed.Types.Count);
        Assert.All(passed.Types, t => Assert.Equal(t.Expected, t.Actual));

        await TestTypes.ExecuteAsync(_db, "UPDATE neo_glitch_media SET image_url = 'https://evil.example/x.jpg' WHERE legacy_id = 'ma_3'");
        var failed = await migrator.VerifyAsync();
        Assert.False(failed.Passed);
        Assert.Equal(1, failed.DifferenceCount);
        Assert.Equal(new VerificationDifference("ma_3", "neo-glitch", "differs", "image_url"), Assert.Single(failed.Differences));
        var refused = await Assert.ThrowsAsync<LegacyMigrationException>(() => migrator.DropLegacyAsync());
        Assert.Contains("latest verification failed", refused.Message, StringComparison.Ordinal);

        await TestTypes.ExecuteAsync(_db, $"UPDATE neo_glitch_media SET image_url = '{Url(3)}' WHERE legacy_id = 'ma_3'");
        await TestTypes.ExecuteAsync(_db, $"DELETE FROM presets_media WHERE legacy_id = 'ma_12'");
        var missing = await migrator.VerifyAsync();
        Assert.Equal(new VerificationDifference("ma_12", "presets", "missing", null), Assert.Single(missing.Differences));
        await migrator.RunAsync(); // a re-run puts the missing row back
        var repaired = await migrator.VerifyAsync();
        Assert.True(repaired.Passed, string.Join("; ", repaired.Differences));

        // The legacy data changes after the passing verification: the drop is refused.
        await TestTypes.ExecuteAsync(_db, "UPDATE media_assets SET created_at = created_at + interval '1 day' WHERE id = 'ma_27'");
        var changed = await Assert.ThrowsAsync<LegacyMigrationException>(() => migrator.DropLegacyAsync());
        Assert.Contains("changed since", changed.Message, StringComparison.Ordinal);
        Assert.Equal(1L, await TestTypes.ScalarAsync<long>(_db, "SELECT count(*) FROM pg_tables WHERE tablename = 'media_assets'"));

        var reverified = await migrator.VerifyAsync();
        Assert.True(reverified.Passed, string.Join("; ", reverified.Differences));
        await migrator.DropLegacyAsync();
        Assert.Equal(0L, await TestTypes.ScalarAsync<long>(_db, "SELECT count(*) FROM pg_tables WHERE tablename = 'media_assets'"));
    }

    [Fact]
    public async Task Another_source_database_is_streamed_in_and_verified()
    {
        var target = await PostgresServer.CreateDatabaseAsync("stefna_legacy_target");
        try
        {
            await using var dataSource = NpgsqlDataSource.Create(target);
            await using var migrator = Migrator(dataSource, source: _db, batchSize: 10);

            var report = await migrator.RunAsync();

            Assert.Equal(Fixture.Count, report.Total);
            Assert.Equal(Fixture.Count - 7 - 2, report.Migrated); // 2 repeated ids
            Assert.Equal(2, report.AlreadyPresent);
            Assert.Contains(new NpgsqlConnectionStringBuilder(_db).Database!, report.Source, StringComparison.Ordinal);
            Assert.Equal(0L, await TestTypes.ScalarAsync<long>(target, "SELECT count(*) FROM pg_tables WHERE tablename IN ('media_assets', 'stefna_legacy_import', 'stefna_legacy_staging')"));
            Assert.True((await migrator.VerifyAsync()).Passed);

            await migrator.DropLegacyAsync();
            Assert.Equal(0L, await TestTypes.ScalarAsync<long>(_db, "SELECT count(*) FROM pg_tables WHERE tablename = 'media_assets'"));
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(target);
        }
    }

    private async Task<(string Id, string User, string? Url, string? Prompt, string? Preset, string Status, int Attempts, string Tags)> RowAsync(string table, string legacyId)
    {
        await using var connection = new NpgsqlConnection(_db);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT id::text, user_id, image_url, prompt, preset, status, attempts, tags::text FROM {table} WHERE legacy_id = @id", connection);
        command.Parameters.AddWithValue("id", legacyId);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), $"{legacyId} not in {table}");
        string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
        return (reader.GetString(0), reader.GetString(1), Text(2), Text(3), Text(4), reader.GetString(5), reader.GetInt32(6), reader.GetString(7));
    }

    private sealed class SyncProgress(Action<MigrationProgress> report) : IProgress<MigrationProgress>
    {
        public void Report(MigrationProgress value) => report(value);
    }
}
