using Npgsql;
using Stefna.LegacySeeding;
using Stefna.Sdk.Legacy;
using Stefna.Sdk.Postgres.Legacy;
using Stefna.TestUtils;
using static Stefna.Sdk.Postgres.LegacyMigration.Tests.LegacyTestSupport;

namespace Stefna.Sdk.Postgres.LegacyMigration.Tests;

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
        Assert.Equal("joy", await PostgresQueries.ScalarAsync<string>(_db, "SELECT emotion FROM emotion_mask_media WHERE legacy_id = 'ma_7'"));
        Assert.Equal("crying", await PostgresQueries.ScalarAsync<string>(_db, "SELECT reaction FROM ghibli_reaction_media WHERE legacy_id = 'ma_16'"));
        Assert.Equal(LegacyTestSupport.Time(11).UtcDateTime, await PostgresQueries.ScalarAsync<DateTime>(_db, "SELECT created_at FROM presets_media WHERE legacy_id = 'ma_11'"));
        Assert.Equal("\"{\\\"generation_type\\\":\\\"neo-glitch\\\"}\"", await PostgresQueries.ScalarAsync<string>(_db, "SELECT meta::text FROM custom_prompt_media WHERE legacy_id = 'ma_22'"));
        Assert.Equal(2L, await PostgresQueries.ScalarAsync<long>(_db, "SELECT count(*) FROM presets_catalog WHERE retired AND key IN ('retro_vhs', 'vintage_sepia')"));
        Assert.Equal(0L, await PostgresQueries.ScalarAsync<long>(_db, "SELECT count(*) FROM pg_tables WHERE tablename = 'stefna_legacy_staging'"));
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

        // Catalogue keys in other spellings, with every meta shape the preset mapping looks at.
        await PostgresQueries.ExecuteAsync(_db, """
            INSERT INTO media_assets VALUES
              ('pk_1', 'u', 'https://x/1.jpg', NULL, 'CINEMATIC_GLOW', NULL, now()),
              ('pk_2', 'u', 'https://x/2.jpg', NULL, E'\tFilm-Noir ', '{"mode":"preset"}', now()),
              ('pk_3', 'u', 'https://x/3.jpg', NULL, 'Pop-Art', '[1]', now()),
              ('pk_4', 'u', 'https://x/4.jpg', NULL, 'UKIYO-E', '"text"', now()),
              ('pk_5', 'u', 'https://x/5.jpg', NULL, 'oil-painting', '{"legacy_preset_key":null}', now()),
              ('pk_6', 'u', 'https://x/6.jpg', NULL, 'oil_painting', '{"generation_type":"presets"}', now()),
              ('pk_7', 'u', 'https://x/7.jpg', NULL, 'Retro_VHS', '{"generation_type":"presets"}', now()),
              ('pk_8', 'u', 'https://x/8.jpg', NULL, ' Neo_Tokyo_Visor', '{"mode":"neotokyo"}', now())
            """);
        await using var migrator = Migrator(dataSource);
        await using var connection = await dataSource.OpenConnectionAsync();
        var sql = await migrator.PrepareSqlAsync(connection, default);
        await PostgresQueries.ExecuteAsync(_db, "CREATE EXTENSION IF NOT EXISTS pgcrypto");
        var pgcrypto = LegacySql.UuidV5Expression("pgcrypto", "public");

        await using var command = new NpgsqlCommand($"SELECT c.id, c.user_id, c.url, c.prompt, c.preset_key, c.meta::text, c.cls, c.new_id, {string.Format(System.Globalization.CultureInfo.InvariantCulture, pgcrypto, "c.id")}, {sql.PresetOfClass("c")} FROM ({sql.ClassifiedSelect("media_assets")}) c", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = 0;
        var mapped = 0;
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
            Assert.True(expected.Preset == Text(9), $"row {Text(0)} ({Text(4)}, {Text(5)}): C# stores preset '{expected.Preset}', SQL '{Text(9)}'");
            if (expected.Preset != Text(4))
            {
                mapped++;
            }
            Assert.Equal(LegacyIds.ToRowId(Text(0)!), reader.GetGuid(7));
            if (!LegacyIds.IsCanonicalUuid(Text(0)!))
            {
                Assert.Equal(reader.GetGuid(7), reader.GetGuid(8));
            }
        }

        Assert.Equal(3000 + Fixture.Count + 8, rows);
        Assert.True(mapped >= 4, $"only {mapped} rows had their preset key mapped to the catalogue's spelling");

        // The seed exercises every rule kind and every reason (except a null id, which it never writes).
        Assert.Superset(new HashSet<string> { "GenerationType", "Mode", "PresetKeyPrefix", "PresetKey", "PromptFallback", "NoUrl", "ConflictingSignals", "NoRuleMatched" }, kinds);
    }

    [Fact]
    public async Task A_known_preset_in_another_spelling_is_stored_as_the_catalogue_key_and_keeps_its_original_in_meta()
    {
        // ma_40–ma_42: live catalogue keys written another way (upper case, dashes, padded, title case); ma_43 the same
        // but with an array meta that cannot keep the original; ma_44 an unknown key in upper case; ma_45 a meta that
        // already has legacy_preset_key. Only ma_40–ma_42 are mapped; the others keep the existing behaviour.
        await PostgresQueries.ExecuteAsync(_db, """
            INSERT INTO media_assets VALUES
              ('ma_40', 'u20', 'https://x/40.jpg', NULL, 'CINEMATIC_GLOW', '{"generation_type":"presets"}', '2024-05-01T13:00:00Z'),
              ('ma_41', 'u20', 'https://x/41.jpg', NULL, ' Cinematic-Glow ', NULL, '2024-05-01T13:01:00Z'),
              ('ma_42', 'u20', 'https://x/42.jpg', NULL, 'Oil-Painting', '{"mode":"preset","tags":["x"]}', '2024-05-01T13:02:00Z'),
              ('ma_43', 'u20', 'https://x/43.jpg', NULL, 'Film-Noir', '[1]', '2024-05-01T13:03:00Z'),
              ('ma_44', 'u20', 'https://x/44.jpg', NULL, 'RETRO_VHS', '{"generation_type":"presets"}', '2024-05-01T13:04:00Z'),
              ('ma_45', 'u20', 'https://x/45.jpg', NULL, 'POP_ART', '{"mode":"preset","legacy_preset_key":"older"}', '2024-05-01T13:05:00Z')
            """);
        await using var dataSource = NpgsqlDataSource.Create(_db);
        await using var migrator = Migrator(dataSource);

        var dry = await migrator.DryRunAsync();
        var report = await migrator.RunAsync();

        // Fixture: retro_vhs, vintage_sepia; here: Film-Noir, RETRO_VHS, POP_ART. Never CINEMATIC_GLOW, Cinematic-Glow, Oil-Painting.
        Assert.Equal(5, report.CatalogEntriesAdded);
        Assert.Equal(report.CatalogEntriesAdded, dry.CatalogEntriesAdded);
        Assert.Equal(
            "Film-Noir,POP_ART,RETRO_VHS,retro_vhs,vintage_sepia",
            await PostgresQueries.ScalarAsync<string>(_db, "SELECT string_agg(key, ',' ORDER BY key COLLATE \"C\") FROM presets_catalog WHERE retired"));
        var rows = await PostgresQueries.ScalarAsync<string>(_db, """
            SELECT string_agg(legacy_id || '=' || preset || '|' || coalesce(meta->>'legacy_preset_key', '-') || '|' || meta::text, '; ' ORDER BY legacy_id)
            FROM presets_media WHERE legacy_id IN ('ma_40', 'ma_41', 'ma_42', 'ma_43', 'ma_44', 'ma_45')
            """);
        Assert.Equal(
            "ma_40=cinematic_glow|CINEMATIC_GLOW|{\"generation_type\": \"presets\", \"legacy_preset_key\": \"CINEMATIC_GLOW\"}; "
            + "ma_41=cinematic_glow| Cinematic-Glow |{\"legacy_preset_key\": \" Cinematic-Glow \"}; "
            + "ma_42=oil_painting|Oil-Painting|{\"mode\": \"preset\", \"tags\": [\"x\"], \"legacy_preset_key\": \"Oil-Painting\"}; "
            + "ma_43=Film-Noir|-|[1]; "
            + "ma_44=RETRO_VHS|-|{\"generation_type\": \"presets\"}; "
            + "ma_45=POP_ART|older|{\"mode\": \"preset\", \"legacy_preset_key\": \"older\"}",
            rows);

        // The exact catalogue key is stored as it is, with meta untouched.
        Assert.Equal("{\"mode\": \"preset\"}", await PostgresQueries.ScalarAsync<string>(_db, "SELECT meta::text FROM presets_media WHERE legacy_id = 'ma_12'"));

        // The verification expects the catalogue key and the original in meta.
        var verification = await migrator.VerifyAsync();
        Assert.True(verification.Passed, string.Join("; ", verification.Differences));
        await PostgresQueries.ExecuteAsync(_db, "UPDATE presets_media SET meta = meta - 'legacy_preset_key' WHERE legacy_id = 'ma_40'");
        var lost = await migrator.VerifyAsync();
        Assert.Equal(new VerificationDifference("ma_40", "presets", "differs", "meta"), Assert.Single(lost.Differences));
    }

    [Fact]
    public async Task Verification_names_a_tampered_tag_emotion_reaction_or_legacy_id()
    {
        await using var dataSource = NpgsqlDataSource.Create(_db);
        await using var migrator = Migrator(dataSource);
        await migrator.RunAsync();
        Assert.True((await migrator.VerifyAsync()).Passed);

        string[] tamper =
        [
            "UPDATE neo_glitch_media SET tags = array_append(tags, 'added') WHERE legacy_id = 'ma_6'",
            "UPDATE emotion_mask_media SET emotion = 'anger' WHERE legacy_id = 'ma_7'",
            "UPDATE ghibli_reaction_media SET reaction = NULL WHERE legacy_id = 'ma_16'",
            "UPDATE custom_prompt_media SET legacy_id = 'ma_19x' WHERE legacy_id = 'ma_19'",
        ];
        VerificationDifference[] expected =
        [
            new("ma_6", "neo-glitch", "differs", "tags"),
            new("ma_7", "emotion-mask", "differs", "emotion"),
            new("ma_16", "ghibli-reaction", "differs", "reaction"),
            new("ma_19", "custom-prompt", "differs", "legacy_id"),
        ];

        // Each on its own, then put back.
        for (var i = 0; i < tamper.Length; i++)
        {
            var before = await TargetChecksumAsync(_db);
            await PostgresQueries.ExecuteAsync(_db, tamper[i]);
            var failed = await migrator.VerifyAsync();
            Assert.False(failed.Passed, tamper[i]);
            Assert.Equal(expected[i], Assert.Single(failed.Differences));
            Assert.Equal(1, failed.DifferenceCount);
            await migrator.RunAsync(); // never overwrites: the difference stays
            Assert.False((await migrator.VerifyAsync()).Passed);
            await PostgresQueries.ExecuteAsync(_db, Undo(i));
            Assert.Equal(before, await TargetChecksumAsync(_db));
            Assert.True((await migrator.VerifyAsync()).Passed, tamper[i]);
        }

        // All at once: every row named, and the drop refused.
        foreach (var t in tamper)
        {
            await PostgresQueries.ExecuteAsync(_db, t);
        }

        var all = await migrator.VerifyAsync();
        Assert.Equal(expected.OrderBy(d => d.LegacyId, StringComparer.Ordinal), all.Differences.OrderBy(d => d.LegacyId, StringComparer.Ordinal));
        await Assert.ThrowsAsync<LegacyMigrationException>(() => migrator.DropLegacyAsync());

        static string Undo(int i) => i switch
        {
            0 => "UPDATE neo_glitch_media SET tags = array_remove(tags, 'added') WHERE legacy_id = 'ma_6'",
            1 => "UPDATE emotion_mask_media SET emotion = 'joy' WHERE legacy_id = 'ma_7'",
            2 => "UPDATE ghibli_reaction_media SET reaction = 'crying' WHERE legacy_id = 'ma_16'",
            _ => "UPDATE custom_prompt_media SET legacy_id = 'ma_19' WHERE legacy_id = 'ma_19x'",
        };
    }

    [Fact]
    public async Task Dry_run_writes_nothing_and_predicts_the_run()
    {
        await using var dataSource = NpgsqlDataSource.Create(_db);
        await using var migrator = Migrator(dataSource);
        var legacyBefore = await PostgresQueries.ScalarAsync<string>(_db, "SELECT md5(string_agg(m::text, ',' ORDER BY m::text)) FROM media_assets m");

        var dry = await migrator.DryRunAsync();

        Assert.True(dry.IsDryRun);
        Assert.True(dry.IsBalanced);
        Assert.Equal(0L, await PostgresQueries.ScalarAsync<long>(_db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'media_assets'"));
        Assert.Equal(legacyBefore, await PostgresQueries.ScalarAsync<string>(_db, "SELECT md5(string_agg(m::text, ',' ORDER BY m::text)) FROM media_assets m"));

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

        await PostgresQueries.ExecuteAsync(_db, "UPDATE neo_glitch_media SET image_url = 'https://evil.example/x.jpg' WHERE legacy_id = 'ma_3'");
        var failed = await migrator.VerifyAsync();
        Assert.False(failed.Passed);
        Assert.Equal(1, failed.DifferenceCount);
        Assert.Equal(new VerificationDifference("ma_3", "neo-glitch", "differs", "image_url"), Assert.Single(failed.Differences));
        var refused = await Assert.ThrowsAsync<LegacyMigrationException>(() => migrator.DropLegacyAsync());
        Assert.Contains("latest verification failed", refused.Message, StringComparison.Ordinal);

        await PostgresQueries.ExecuteAsync(_db, $"UPDATE neo_glitch_media SET image_url = '{Url(3)}' WHERE legacy_id = 'ma_3'");
        await PostgresQueries.ExecuteAsync(_db, $"DELETE FROM presets_media WHERE legacy_id = 'ma_12'");
        var missing = await migrator.VerifyAsync();
        Assert.Equal(new VerificationDifference("ma_12", "presets", "missing", null), Assert.Single(missing.Differences));
        await migrator.RunAsync(); // a re-run puts the missing row back
        var repaired = await migrator.VerifyAsync();
        Assert.True(repaired.Passed, string.Join("; ", repaired.Differences));

        // The legacy data changes after the passing verification: the drop is refused.
        await PostgresQueries.ExecuteAsync(_db, "UPDATE media_assets SET created_at = created_at + interval '1 day' WHERE id = 'ma_27'");
        var changed = await Assert.ThrowsAsync<LegacyMigrationException>(() => migrator.DropLegacyAsync());
        Assert.Contains("changed since", changed.Message, StringComparison.Ordinal);
        Assert.Equal(1L, await PostgresQueries.ScalarAsync<long>(_db, "SELECT count(*) FROM pg_tables WHERE tablename = 'media_assets'"));

        var reverified = await migrator.VerifyAsync();
        Assert.True(reverified.Passed, string.Join("; ", reverified.Differences));
        await migrator.DropLegacyAsync();
        Assert.Equal(0L, await PostgresQueries.ScalarAsync<long>(_db, "SELECT count(*) FROM pg_tables WHERE tablename = 'media_assets'"));
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
            Assert.Equal(0L, await PostgresQueries.ScalarAsync<long>(target, "SELECT count(*) FROM pg_tables WHERE tablename IN ('media_assets', 'stefna_legacy_import', 'stefna_legacy_staging')"));
            Assert.True((await migrator.VerifyAsync()).Passed);

            await migrator.DropLegacyAsync();
            Assert.Equal(0L, await PostgresQueries.ScalarAsync<long>(_db, "SELECT count(*) FROM pg_tables WHERE tablename = 'media_assets'"));
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(target);
        }
    }

    [Fact]
    public async Task Verification_covers_exactly_the_rows_the_migration_wrote_and_names_every_difference()
    {
        // The new system already holds two legacy rows: ma_26 (with its legacy id, other content) and the UUID row
        // under its own id with no legacy id and the same content. The migration writes neither.
        await PlantExistingAsync(_db);
        await PostgresQueries.ExecuteAsync(_db, $"""
            INSERT INTO neo_glitch_media (id, user_id, status, preset, image_url, meta, created_at)
            VALUES ('{UuidId}', 'b7e5c2a0-1111-4c4c-8888-123456789abc', 'completed', 'Neo-Tokyo-Base', '{Url(4)}', jsonb_build_object(), '2024-05-01T12:04:00Z')
            """);
        await using var dataSource = NpgsqlDataSource.Create(_db);
        await using var migrator = Migrator(dataSource);
        var report = await migrator.RunAsync();
        Assert.Equal((5L, 3L), report.Types.Where(t => t.Type == "neo-glitch").Select(t => (t.Migrated, t.AlreadyPresent)).Single());

        var verification = await migrator.VerifyAsync();

        Assert.True(verification.Passed, string.Join("; ", verification.Differences));
        Assert.Empty(verification.Differences);
        Assert.Equal((5L, 5L), verification.Types.Where(t => t.Type == "neo-glitch").Select(t => (t.Expected, t.Actual)).Single());
        Assert.All(verification.Types, t => Assert.Equal(t.Expected, t.Actual));
        // Kept at the drop: 7 unclassified, the later ma_11 (same id, other content) and ma_26 (held with other content).
        Assert.Equal(9, verification.Unmigrated);

        // The new system's own row changes: not the migration's, so its legacy content is kept, not a failure.
        await PostgresQueries.ExecuteAsync(_db, $"UPDATE neo_glitch_media SET prompt = 'edited' WHERE id = '{UuidId}'");
        var edited = await migrator.VerifyAsync();
        Assert.True(edited.Passed, string.Join("; ", edited.Differences));
        Assert.Equal(10, edited.Unmigrated);

        // A legacy row the migration wrote disappears from the legacy data: the count differs and the row is named.
        await PostgresQueries.ExecuteAsync(_db, "DELETE FROM media_assets WHERE id = 'ma_5'");
        var failed = await migrator.VerifyAsync();
        Assert.False(failed.Passed);
        Assert.Equal((4L, 5L), failed.Types.Where(t => t.Type == "neo-glitch").Select(t => (t.Expected, t.Actual)).Single());
        Assert.Equal(new VerificationDifference("ma_5", "neo-glitch", "unexpected", null), Assert.Single(failed.Differences));
        Assert.Equal(1, failed.DifferenceCount);
    }

    [Fact]
    public async Task Drop_verifies_both_sides_again_and_refuses_when_a_target_row_changed_after_the_verification()
    {
        await using var dataSource = NpgsqlDataSource.Create(_db);
        await using var migrator = Migrator(dataSource);
        await migrator.RunAsync();
        Assert.True((await migrator.VerifyAsync()).Passed);

        await PostgresQueries.ExecuteAsync(_db, "DELETE FROM presets_media WHERE legacy_id = 'ma_12'");
        var deleted = await Assert.ThrowsAsync<LegacyMigrationException>(() => migrator.DropLegacyAsync());
        Assert.Contains("ma_12 (presets, missing)", deleted.Message, StringComparison.Ordinal);
        Assert.Equal(1L, await PostgresQueries.ScalarAsync<long>(_db, "SELECT count(*) FROM pg_tables WHERE tablename = 'media_assets'"));

        await migrator.RunAsync(); // puts ma_12 back
        await PostgresQueries.ExecuteAsync(_db, "UPDATE neo_glitch_media SET prompt = 'changed' WHERE legacy_id = 'ma_3'");
        var changed = await Assert.ThrowsAsync<LegacyMigrationException>(() => migrator.DropLegacyAsync());
        Assert.Contains("ma_3 (neo-glitch, differs: prompt)", changed.Message, StringComparison.Ordinal);
        Assert.Equal(1L, await PostgresQueries.ScalarAsync<long>(_db, "SELECT count(*) FROM pg_tables WHERE tablename = 'media_assets'"));

        await PostgresQueries.ExecuteAsync(_db, "UPDATE neo_glitch_media SET prompt = 'me, neon' WHERE legacy_id = 'ma_3'");
        await migrator.DropLegacyAsync();
        Assert.Equal(0L, await PostgresQueries.ScalarAsync<long>(_db, "SELECT count(*) FROM pg_tables WHERE tablename = 'media_assets'"));
    }

    [Fact]
    public async Task Drop_keeps_every_row_no_type_table_holds_in_media_assets_unmigrated()
    {
        await using var dataSource = NpgsqlDataSource.Create(_db);
        await using var migrator = Migrator(dataSource);
        await migrator.RunAsync();
        var verification = await migrator.VerifyAsync();
        Assert.True(verification.Passed);
        Assert.Equal(8, verification.Unmigrated);

        await migrator.DropLegacyAsync();

        Assert.Equal(0L, await PostgresQueries.ScalarAsync<long>(_db, "SELECT count(*) FROM pg_tables WHERE tablename = 'media_assets'"));
        var kept = await PostgresQueries.ScalarAsync<string>(_db, "SELECT string_agg(id || '=' || reason || '@' || extract(minute FROM created_at)::int, '; ' ORDER BY id COLLATE \"C\") FROM media_assets_unmigrated WHERE source = 'media_assets'");
        Assert.Equal(
            "ma_11=repeated id with other content@30; ma_27=no url@27; ma_28=no url@28; ma_29=conflicting signals@29; ma_30=conflicting signals@30; ma_31=no rule matched@31; ma_32=no rule matched@32; ma_33=no user id@33",
            kept);
        // The kept rows are the legacy rows verbatim.
        Assert.Equal(
            """{"mode": "emotionmask", "generation_type": "neo-glitch"}""",
            await PostgresQueries.ScalarAsync<string>(_db, "SELECT meta::text FROM media_assets_unmigrated WHERE id = 'ma_29'"));
    }

    [Fact]
    public async Task Dry_run_and_verify_from_another_source_leave_no_copy_in_the_target_and_the_dry_run_takes_the_lock()
    {
        var target = await PostgresServer.CreateDatabaseAsync("stefna_legacy_target");
        try
        {
            await using var dataSource = NpgsqlDataSource.Create(target);
            await using var migrator = Migrator(dataSource, source: _db);
            const string copies = "SELECT count(*) FROM pg_tables WHERE tablename IN ('stefna_legacy_import', 'stefna_legacy_staging', 'media_assets')";

            var dry = await migrator.DryRunAsync();
            Assert.Equal(Fixture.Count, dry.Total);
            Assert.Equal(0L, await PostgresQueries.ScalarAsync<long>(target, copies));
            Assert.Equal(0L, await PostgresQueries.ScalarAsync<long>(target, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"));

            await migrator.RunAsync();
            Assert.True((await migrator.VerifyAsync()).Passed);
            Assert.Equal(0L, await PostgresQueries.ScalarAsync<long>(target, copies));

            // The dry run waits for the migration lock like every other step.
            await using var holder = new NpgsqlConnection(target);
            await holder.OpenAsync();
            await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({LegacyMigrator.LockKey})", holder))
            {
                await take.ExecuteNonQueryAsync();
            }

            await using var impatient = new LegacyMigrator(dataSource, Types, new LegacyMigrationOptions { SourceConnectionString = _db, LockTimeout = TimeSpan.FromMilliseconds(300) });
            var locked = await Assert.ThrowsAsync<LegacyMigrationException>(() => impatient.DryRunAsync());
            Assert.Contains("migration lock", locked.Message, StringComparison.Ordinal);
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
