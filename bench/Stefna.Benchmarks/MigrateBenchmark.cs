using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Stefna.Generators.CustomPrompt;
using Stefna.Generators.EmotionMask;
using Stefna.Generators.GhibliReaction;
using Stefna.Generators.NeoGlitch;
using Stefna.Generators.Presets;
using Stefna.LegacySeeding;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Postgres;
using Stefna.Sdk.Postgres.Legacy;

namespace Stefna.Benchmarks;

/// <summary>
/// P4: the legacy migration (<see cref="LegacyMigrator"/>) of N seeded rows against ONE hand-written in-database
/// <c>INSERT … SELECT</c> doing the same mapping and classification for all five types, each on its own copy of the
/// same database (CREATE DATABASE … TEMPLATE), in the same run. Prints the time ratio and this process's peak memory.
/// <code>dotnet run -c Release --project bench/Stefna.Benchmarks -- migrate [--postgres "&lt;conn&gt;"] [--rows 1000000]</code>
/// </summary>
internal static class MigrateBenchmark
{
    private static readonly GenerationTypeDefinition[] Types =
    [
        NeoGlitchGenerator.TypeDefinition, EmotionMaskGenerator.TypeDefinition, PresetsGenerator.TypeDefinition,
        GhibliReactionGenerator.TypeDefinition, CustomPromptGenerator.TypeDefinition,
    ];

    public static async Task<int> RunAsync(string postgres, int rows, int batchSize)
    {
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var sdkDb = "stefna_p4_sdk_" + suffix;
        var baseDb = "stefna_p4_base_" + suffix;
        var sdkConn = new NpgsqlConnectionStringBuilder(postgres) { Database = sdkDb }.ConnectionString;
        var baseConn = new NpgsqlConnectionStringBuilder(postgres) { Database = baseDb }.ConnectionString;
        await ExecAsync(postgres, $"CREATE DATABASE {sdkDb}");
        try
        {
            var seedWatch = Stopwatch.StartNew();
            await using (var dataSource = NpgsqlDataSource.Create(sdkConn))
            {
                await LegacySeeder.SeedAsync(dataSource, Types, rows, seed: 4);
                await using var store = new PostgresMediaStore(dataSource);
                await store.MigrateAsync(Types);
            }

            await ExecAsync(sdkConn, "CREATE EXTENSION IF NOT EXISTS \"uuid-ossp\"");
            await ExecAsync(sdkConn, "VACUUM ANALYZE media_assets");
            NpgsqlConnection.ClearAllPools();
            await ExecAsync(postgres, $"CREATE DATABASE {baseDb} TEMPLATE {sdkDb}");
            Console.WriteLine($"seeded {rows:N0} legacy rows and copied the database in {seedWatch.Elapsed.TotalSeconds:F1} s");

            // Baseline first, then the SDK: the SDK never profits from a warmer cache of its own copy.
            var baseWatch = Stopwatch.StartNew();
            long baseInserted;
            await using (var connection = new NpgsqlConnection(baseConn))
            {
                await connection.OpenAsync();
                await using (var jit = new NpgsqlCommand("SET jit = off", connection))
                {
                    await jit.ExecuteNonQueryAsync();
                }

                await using var command = new NpgsqlCommand(BaselineSql, connection) { CommandTimeout = 0 };
                baseInserted = (long)(await command.ExecuteScalarAsync())!;
            }

            var baseline = baseWatch.Elapsed;
            Console.WriteLine($"baseline: one INSERT … SELECT inserted {baseInserted:N0} rows in {baseline.TotalSeconds:F2} s");

            var sdkWatch = Stopwatch.StartNew();
            MigrationReport report;
            await using (var dataSource = NpgsqlDataSource.Create(sdkConn))
            await using (var migrator = new LegacyMigrator(dataSource, Types, new LegacyMigrationOptions { BatchSize = batchSize }))
            {
                report = await migrator.RunAsync(new Progress(p =>
                {
                    if (p.Phase != "migrating" || p.RowsDone == p.RowsTotal)
                    {
                        Console.WriteLine($"  {p.Phase} {p.RowsDone:N0}/{p.RowsTotal:N0} at {p.Elapsed.TotalSeconds:F1} s");
                    }
                }));
            }

            var sdk = sdkWatch.Elapsed;
            Console.WriteLine($"sdk: LegacyMigrator migrated {report.Migrated:N0}, already present {report.AlreadyPresent:N0}, unclassified {report.Unclassified:N0} of {report.Total:N0} (balanced {report.IsBalanced}) in {sdk.TotalSeconds:F2} s, batch size {batchSize:N0}");
            Console.WriteLine($"P4 migrate time: sdk {sdk.TotalSeconds:F2} s, baseline {baseline.TotalSeconds:F2} s ({rows:N0} rows)");
            Console.WriteLine($"P4 migrate/baseline time ratio: {sdk.TotalSeconds / baseline.TotalSeconds:F2} (goal <= 1.50)");
            Console.WriteLine($"P4 client peak memory: {Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024):F0} MB (goal < 200 MB; includes seeding in this process)");
            return 0;
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await ExecAsync(postgres, $"DROP DATABASE IF EXISTS {sdkDb} WITH (FORCE)");
            await ExecAsync(postgres, $"DROP DATABASE IF EXISTS {baseDb} WITH (FORCE)");
        }
    }

    private static async Task ExecAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync();
    }

    private sealed class Progress(Action<MigrationProgress> report) : IProgress<MigrationProgress>
    {
        public void Report(MigrationProgress value) => report(value);
    }

    /// <summary>Hand-written: the DESIGN.md rules for the five types, the same column mapping (a catalogue key in
    /// another spelling stored as the catalogue's key, the original in meta.legacy_preset_key), unknown preset keys
    /// into the catalogue as retired entries, ON CONFLICT DO NOTHING for repeated ids. One statement. (It skips what a
    /// safe migration adds: choosing duplicates by content, checking rows already in other tables, batching,
    /// resumability and the report.)</summary>
    private const string BaselineSql = """
        WITH n AS MATERIALIZED (
            SELECT m.*,
                   CASE WHEN length(m.id) = 36 AND m.id ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
                        THEN m.id::uuid ELSE uuid_generate_v5('5f1e0c1e-7a53-4e1f-9b6a-57ef4a0a11d5', m.id) END AS new_id,
                   CASE translate(btrim(CASE WHEN jsonb_typeof(m.meta) = 'object' THEN m.meta->>'generation_type' END, E' \t\r\n'), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ_', 'abcdefghijklmnopqrstuvwxyz-')
                        WHEN 'neo-glitch' THEN 'neo' WHEN 'neo-tokyo-glitch' THEN 'neo' WHEN 'neotokyo-glitch' THEN 'neo'
                        WHEN 'emotion-mask' THEN 'emo' WHEN 'presets' THEN 'pre' WHEN 'ghibli-reaction' THEN 'ghi' WHEN 'custom-prompt' THEN 'cus' END AS g,
                   CASE translate(btrim(CASE WHEN jsonb_typeof(m.meta) = 'object' THEN m.meta->>'mode' END, E' \t\r\n'), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ_', 'abcdefghijklmnopqrstuvwxyz-')
                        WHEN 'neotokyo' THEN 'neo' WHEN 'neo-tokyo' THEN 'neo' WHEN 'emotionmask' THEN 'emo' WHEN 'emotion-mask' THEN 'emo'
                        WHEN 'preset' THEN 'pre' WHEN 'ghiblireact' THEN 'ghi' WHEN 'ghibli-reaction' THEN 'ghi' WHEN 'custom' THEN 'cus' WHEN 'custom-prompt' THEN 'cus' END AS md,
                   coalesce(translate(btrim(m.preset_key, E' \t\r\n'), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ_', 'abcdefghijklmnopqrstuvwxyz-'), '') AS pk
            FROM media_assets m),
        c AS MATERIALIZED (
            SELECT n.*, CASE
                WHEN n.id IS NULL OR n.url IS NULL OR btrim(n.url, E' \t\r\n') = '' OR n.user_id IS NULL THEN NULL
                WHEN coalesce(n.g, n.md, p.p) IS NULL THEN CASE WHEN btrim(coalesce(n.prompt, ''), E' \t\r\n') <> '' AND n.pk = '' THEN 'cus' END
                WHEN n.g <> coalesce(n.g, n.md, p.p) OR n.md <> coalesce(n.g, n.md, p.p) OR p.p <> coalesce(n.g, n.md, p.p) THEN NULL
                ELSE coalesce(n.g, n.md, p.p) END AS t
            FROM n CROSS JOIN LATERAL (SELECT CASE
                WHEN starts_with(n.pk, 'neo-tokyo') THEN 'neo' WHEN starts_with(n.pk, 'emotion-') THEN 'emo' WHEN starts_with(n.pk, 'ghibli-') THEN 'ghi'
                WHEN n.pk IN (SELECT translate(key, '_', '-') FROM presets_catalog WHERE NOT retired) THEN 'pre' END AS p) p),
        pc AS MATERIALIZED (
            SELECT c.*, coalesce(CASE WHEN c.meta IS NULL OR (jsonb_typeof(c.meta) = 'object' AND c.meta -> 'legacy_preset_key' IS NULL)
                                      THEN (SELECT k.key FROM presets_catalog k WHERE NOT k.retired AND translate(k.key, '_', '-') = c.pk) END, c.preset_key) AS preset
            FROM c WHERE c.t = 'pre'),
        cat AS (INSERT INTO presets_catalog (key, name, retired)
                SELECT DISTINCT preset, preset, true FROM pc WHERE preset_key IS NOT NULL ON CONFLICT (key) DO NOTHING RETURNING 1),
        i1 AS (INSERT INTO neo_glitch_media (id, user_id, status, prompt, preset, image_url, tags, meta, attempts, legacy_id, created_at, updated_at)
               SELECT new_id, user_id, 'completed', prompt, preset_key, url, ARRAY['neo-glitch'] || CASE WHEN jsonb_typeof(meta->'tags') = 'array' THEN ARRAY(SELECT e FROM jsonb_array_elements_text(meta->'tags') WITH ORDINALITY x(e, o) WHERE e IS NOT NULL AND btrim(e) <> '' AND e <> 'neo-glitch' GROUP BY e ORDER BY min(o)) ELSE ARRAY[]::text[] END,
                      coalesce(meta, '{}'), 0, id, created_at, created_at FROM c WHERE t = 'neo' ON CONFLICT DO NOTHING RETURNING 1),
        i2 AS (INSERT INTO emotion_mask_media (id, user_id, status, prompt, preset, image_url, tags, meta, attempts, legacy_id, created_at, updated_at, emotion)
               SELECT new_id, user_id, 'completed', prompt, preset_key, url, ARRAY['emotion-mask'] || CASE WHEN jsonb_typeof(meta->'tags') = 'array' THEN ARRAY(SELECT e FROM jsonb_array_elements_text(meta->'tags') WITH ORDINALITY x(e, o) WHERE e IS NOT NULL AND btrim(e) <> '' AND e <> 'emotion-mask' GROUP BY e ORDER BY min(o)) ELSE ARRAY[]::text[] END,
                      coalesce(meta, '{}'), 0, id, created_at, created_at, CASE WHEN jsonb_typeof(meta) = 'object' THEN meta->>'emotion' END FROM c WHERE t = 'emo' ON CONFLICT DO NOTHING RETURNING 1),
        i3 AS (INSERT INTO presets_media (id, user_id, status, prompt, preset, image_url, tags, meta, attempts, legacy_id, created_at, updated_at)
               SELECT new_id, user_id, 'completed', prompt, preset, url, ARRAY['presets'] || CASE WHEN jsonb_typeof(meta->'tags') = 'array' THEN ARRAY(SELECT e FROM jsonb_array_elements_text(meta->'tags') WITH ORDINALITY x(e, o) WHERE e IS NOT NULL AND btrim(e) <> '' AND e <> 'presets' GROUP BY e ORDER BY min(o)) ELSE ARRAY[]::text[] END,
                      CASE WHEN preset IS DISTINCT FROM preset_key THEN coalesce(meta, '{}') || jsonb_build_object('legacy_preset_key', preset_key) ELSE coalesce(meta, '{}') END,
                      0, id, created_at, created_at FROM pc ON CONFLICT DO NOTHING RETURNING 1),
        i4 AS (INSERT INTO ghibli_reaction_media (id, user_id, status, prompt, preset, image_url, tags, meta, attempts, legacy_id, created_at, updated_at, reaction)
               SELECT new_id, user_id, 'completed', prompt, preset_key, url, ARRAY['ghibli-reaction'] || CASE WHEN jsonb_typeof(meta->'tags') = 'array' THEN ARRAY(SELECT e FROM jsonb_array_elements_text(meta->'tags') WITH ORDINALITY x(e, o) WHERE e IS NOT NULL AND btrim(e) <> '' AND e <> 'ghibli-reaction' GROUP BY e ORDER BY min(o)) ELSE ARRAY[]::text[] END,
                      coalesce(meta, '{}'), 0, id, created_at, created_at, CASE WHEN jsonb_typeof(meta) = 'object' THEN meta->>'reaction' END FROM c WHERE t = 'ghi' ON CONFLICT DO NOTHING RETURNING 1),
        i5 AS (INSERT INTO custom_prompt_media (id, user_id, status, prompt, preset, image_url, tags, meta, attempts, legacy_id, created_at, updated_at)
               SELECT new_id, user_id, 'completed', prompt, preset_key, url, ARRAY['custom-prompt'] || CASE WHEN jsonb_typeof(meta->'tags') = 'array' THEN ARRAY(SELECT e FROM jsonb_array_elements_text(meta->'tags') WITH ORDINALITY x(e, o) WHERE e IS NOT NULL AND btrim(e) <> '' AND e <> 'custom-prompt' GROUP BY e ORDER BY min(o)) ELSE ARRAY[]::text[] END,
                      coalesce(meta, '{}'), 0, id, created_at, created_at FROM c WHERE t = 'cus' ON CONFLICT DO NOTHING RETURNING 1)
        SELECT (SELECT count(*) FROM i1) + (SELECT count(*) FROM i2) + (SELECT count(*) FROM i3) + (SELECT count(*) FROM i4) + (SELECT count(*) FROM i5) + 0 * (SELECT count(*) FROM cat);
        """;
}
