using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;
using Stefna.Generators.CustomPrompt;
using Stefna.Generators.EmotionMask;
using Stefna.Generators.GhibliReaction;
using Stefna.Generators.NeoGlitch;
using Stefna.Generators.Presets;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Postgres.Legacy;
using Stefna.TestUtils;

namespace Stefna.Sdk.Postgres.LegacyMigration.Tests;

/// <summary>The five real types, a hand-checked legacy fixture and helpers the legacy migration tests share.</summary>
internal static class LegacyTestSupport
{
    public static IReadOnlyList<GenerationTypeDefinition> Types { get; } =
    [
        NeoGlitchGenerator.TypeDefinition,
        EmotionMaskGenerator.TypeDefinition,
        PresetsGenerator.TypeDefinition,
        GhibliReactionGenerator.TypeDefinition,
        CustomPromptGenerator.TypeDefinition,
    ];

    public const string UuidId = "6f9619ff-8b86-4d01-b42d-00cf4fc964ff";
    public const string UpperUuidId = "6F9619FF-8B86-4D01-B42D-00CF4FC964FE";

    /// <summary>A few dozen rows shaped like the seed: every rule kind of the five types, id kinds, meta shapes,
    /// duplicates, an unknown preset, and leftovers (no url, conflicts, nothing matches, no user). Row ma_26 is
    /// planted in the new system first (<see cref="PlantExistingAsync"/>).</summary>
    public static IReadOnlyList<(string? Id, string? User, string? Url, string? Prompt, string? Preset, string? Meta, int Minute)> Fixture { get; } =
    [
        ("ma_1", "u1", Url(1), null, null, """{"generation_type":"neo-glitch"}""", 1),
        ("ma_2", "u1", Url(2), null, null, """{"generation_type":"NEO_GLITCH","source":"web"}""", 2),
        ("ma_3", "u2", Url(3), "me, neon", "neo_tokyo_visor", """{"mode":"neotokyo"}""", 3),
        (UuidId, "b7e5c2a0-1111-4c4c-8888-123456789abc", Url(4), null, "Neo-Tokyo-Base", null, 4),
        ("ma_5", "u3", Url(5), null, "neo_tokyo_glitch", "{}", 5),
        ("ma_6", "u3", Url(6), null, null, """{"mode":"Neo_Tokyo","tags":["night","portrait","night"]}""", 6),
        ("ma_7", "u4", Url(7), null, null, """{"generation_type":"emotion_mask","emotion":"joy"}""", 7),
        ("ma_8", "u4", Url(8), null, "emotion_sadness", """{"mode":"EmotionMask"}""", 8),
        ("ma_9", "u5", Url(9), null, "EMOTION_anger", null, 9),
        ("ma_10", "u5", Url(10), null, null, """{"generation_type":"Emotion-Mask"}""", 10),
        ("ma_11", "u6", Url(11), null, "cinematic_glow", """{"generation_type":"presets"}""", 11),
        ("ma_12", "u6", Url(12), null, "oil_painting", """{"mode":"preset"}""", 12),
        ("ma_13", "u7", Url(13), null, "pop_art", "{}", 13),
        ("ma_14", "u7", Url(14), null, "retro_vhs", """{"generation_type":"presets"}""", 14),
        ("ma_15", "u7", Url(15), null, "vintage_sepia", """{"mode":"preset"}""", 15),
        ("ma_16", "u8", Url(16), null, null, """{"generation_type":"ghibli_reaction","reaction":"crying"}""", 16),
        ("ma_17", "u8", Url(17), null, null, """{"mode":"ghiblireact"}""", 17),
        ("ma_18", "u8", Url(18), null, "ghibli_surprised", null, 18),
        ("ma_19", "u9", Url(19), "a cat", null, """{"generation_type":"custom-prompt"}""", 19),
        ("ma_20", "u9", Url(20), "a dog", null, """{"mode":"custom"}""", 20),
        ("ma_21", "u9", Url(21), "a lighthouse", null, null, 21),
        ("ma_22", "u9", Url(22), "sunset", null, "\"{\\\"generation_type\\\":\\\"neo-glitch\\\"}\"", 22),
        ("ma_23", "u9", Url(23), "a fox", null, "[1, 2]", 23),
        ("ma_1", "u1", Url(1), null, null, """{"generation_type":"neo-glitch"}""", 1),
        ("ma_11", "u6", Url(11), null, "cinematic_glow", """{"generation_type":"presets"}""", 90),
        ("ma_26", "u10", Url(26), null, null, """{"generation_type":"neo-glitch"}""", 26),
        ("ma_27", "u10", null, null, null, """{"generation_type":"neo-glitch"}""", 27),
        ("ma_28", "u10", "  ", "x", null, null, 28),
        ("ma_29", "u11", Url(29), null, null, """{"generation_type":"neo-glitch","mode":"emotionmask"}""", 29),
        ("ma_30", "u11", Url(30), null, "ghibli_crying", """{"generation_type":"presets"}""", 30),
        ("ma_31", "u11", Url(31), null, null, """{"generation_type":"sticker"}""", 31),
        ("ma_32", "u11", Url(32), "x", "legacy_filter_1", null, 32),
        ("ma_33", null, Url(33), null, null, """{"generation_type":"neo-glitch"}""", 33),
        (UpperUuidId, "u12", Url(34), "upper", null, """{"mode":"custom"}""", 34),
        ("100042", "u12", Url(35), null, "ghibli_crying", null, 35),
    ];

    public static string Url(int n) => $"https://res.cloudinary.com/stefna/image/upload/v1/ma_{n}.jpg";

    public static DateTimeOffset Time(int minute) => new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero).AddMinutes(minute);

    public static async Task CreateFixtureAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var create = new NpgsqlCommand("CREATE TABLE media_assets (id text, user_id text, url text, prompt text, preset_key text, meta jsonb, created_at timestamptz)", connection))
        {
            await create.ExecuteNonQueryAsync();
        }

        foreach (var row in Fixture)
        {
            await using var insert = new NpgsqlCommand("INSERT INTO media_assets VALUES (@id, @user, @url, @prompt, @preset, @meta, @at)", connection);
            insert.Parameters.Add(new NpgsqlParameter("id", NpgsqlDbType.Text) { Value = (object?)row.Id ?? DBNull.Value });
            insert.Parameters.Add(new NpgsqlParameter("user", NpgsqlDbType.Text) { Value = (object?)row.User ?? DBNull.Value });
            insert.Parameters.Add(new NpgsqlParameter("url", NpgsqlDbType.Text) { Value = (object?)row.Url ?? DBNull.Value });
            insert.Parameters.Add(new NpgsqlParameter("prompt", NpgsqlDbType.Text) { Value = (object?)row.Prompt ?? DBNull.Value });
            insert.Parameters.Add(new NpgsqlParameter("preset", NpgsqlDbType.Text) { Value = (object?)row.Preset ?? DBNull.Value });
            insert.Parameters.Add(new NpgsqlParameter("meta", NpgsqlDbType.Jsonb) { Value = (object?)row.Meta ?? DBNull.Value });
            insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("at", Time(row.Minute)));
            await insert.ExecuteNonQueryAsync();
        }
    }

    /// <summary>Creates the type tables and plants ma_26 in neo_glitch_media, as if the new system already held it.</summary>
    public static async Task PlantExistingAsync(string connectionString)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var store = new PostgresMediaStore(dataSource);
        await store.MigrateAsync(Types);
        await PostgresQueries.ExecuteAsync(connectionString, $"""
            INSERT INTO neo_glitch_media (id, user_id, status, image_url, legacy_id, created_at)
            VALUES ('{Sdk.Legacy.LegacyIds.ToRowId("ma_26")}', 'u10', 'completed', '{Url(26)}', 'ma_26', '2024-05-01T12:26:00Z')
            """);
    }

    /// <summary>A checksum of everything the migration writes: every type table's rows and the catalogue.</summary>
    public static async Task<string> TargetChecksumAsync(string connectionString)
    {
        var parts = Types.Select(t => $"(SELECT coalesce(md5(string_agg(md5(x::text), ',' ORDER BY x.id)), 'empty') FROM \"{t.TableName}\" x)");
        var sql = "SELECT concat_ws('|', " + string.Join(", ", parts) + ", (SELECT md5(string_agg(c::text, ',' ORDER BY c.key)) FROM presets_catalog c))";
        return await PostgresQueries.ScalarAsync<string>(connectionString, sql);
    }

    public static LegacyMigrator Migrator(NpgsqlDataSource dataSource, string? source = null, int batchSize = 7) =>
        new(dataSource, Types, new LegacyMigrationOptions { SourceConnectionString = source, BatchSize = batchSize });

    /// <summary>Runs the CLI as a child process, from the console project's output of the same configuration.</summary>
    public static Process StartCli(params string[] args)
    {
        // .../tests/Stefna.Sdk.Postgres.LegacyMigration.Tests/bin/<Configuration>/<tfm>/ → .../samples/Stefna.Samples.Console/bin/<Configuration>/<tfm>/
        var tfmDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = tfmDir.Parent!.Name;
        var project = PostgresServer.FindRepositoryFile("samples/Stefna.Samples.Console/Stefna.Samples.Console.csproj")
            ?? throw new InvalidOperationException("samples/Stefna.Samples.Console not found above the test folder.");
        var dll = Path.Combine(Path.GetDirectoryName(project)!, "bin", configuration, tfmDir.Name, "stefna.dll");
        Assert.True(File.Exists(dll), $"the CLI is not built: {dll}");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Remove("STEFNA_POSTGRES");
        return Process.Start(start)!;
    }

    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunCliAsync(TimeSpan timeout, params string[] args)
    {
        using var process = StartCli(args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"stefna {string.Join(' ', args)} did not exit within {timeout}: {await stderr}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
