using System.Text.Json;

namespace Stefna.Samples.Console.Tests;

public class GenerateTests
{
    private static readonly string[] AllTables = ["neo_glitch_media", "emotion_mask_media", "presets_media", "ghibli_reaction_media", "custom_prompt_media"];

    [Fact]
    public async Task Generate_neo_glitch_writes_a_glitched_png_and_a_completed_row_and_status_agrees()
    {
        using var cli = new Cli();
        var job = await cli.JsonAsync("generate", "neo-glitch", "--image", Cli.Portrait);

        var id = job.GetProperty("id").GetString()!;
        Assert.Equal("neo-glitch", job.GetProperty("type").GetString());
        Assert.Equal("completed", job.GetProperty("status").GetString());
        var imageUrl = job.GetProperty("imageUrl").GetString()!;
        var path = new Uri(imageUrl).LocalPath;
        Assert.True(File.Exists(path), path);
        Assert.StartsWith(Path.Combine(cli.DataDirectory, "images"), path, StringComparison.Ordinal);

        // A valid PNG whose pixels differ from the input.
        Assert.Equal([0x89, 0x50, 0x4E, 0x47], File.ReadAllBytes(path)[..4]);
        Assert.True(Cli.MeanDifference(Cli.Portrait, path) > 10, "the glitched image should differ visibly from the input");

        // The completed row is in the type's own table.
        var row = cli.ReadRow("neo_glitch_media", id);
        Assert.Equal(("completed", imageUrl), row);

        var status = await cli.JsonAsync("status", "neo-glitch", id);
        foreach (var key in new[] { "id", "type", "status", "imageUrl" })
        {
            Assert.Equal(job.GetProperty(key).GetString(), status.GetProperty(key).GetString());
        }
    }

    [Theory]
    [InlineData("emotion-mask", "emotion_mask_media", "--emotion", "joy")]
    [InlineData("ghibli-reaction", "ghibli_reaction_media", "--reaction", "crying")]
    [InlineData("custom-prompt", "custom_prompt_media", "--prompt", "a lighthouse at dusk in watercolour")]
    [InlineData("neo-glitch", "neo_glitch_media", "--preset", "visor")]
    public async Task Every_type_generates_through_the_cli(string type, string table, string option, string value)
    {
        using var cli = new Cli();
        var job = await cli.JsonAsync("generate", type, "--image", Cli.Portrait, option, value);
        Assert.Equal("completed", job.GetProperty("status").GetString());
        Assert.Equal("completed", cli.ReadRow(table, job.GetProperty("id").GetString()!).Status);
        Assert.True(Cli.MeanDifference(Cli.Portrait, new Uri(job.GetProperty("imageUrl").GetString()!).LocalPath) > 5);
    }

    [Fact]
    public async Task Presets_generate_with_a_preset_active_this_week()
    {
        using var cli = new Cli();
        var week = await cli.JsonAsync("presets");
        var active = week.GetProperty("active").EnumerateArray().Select(p => p.GetProperty("key").GetString()!).ToList();
        Assert.Equal(6, active.Count);

        var job = await cli.JsonAsync("generate", "presets", "--image", Cli.Portrait, "--preset", active[0]);
        Assert.Equal("completed", job.GetProperty("status").GetString());
        Assert.Equal(active[0], job.GetProperty("preset").GetString());
        Assert.Equal("completed", cli.ReadRow("presets_media", job.GetProperty("id").GetString()!).Status);
    }

    [Fact]
    public async Task Presets_for_a_date_lists_that_weeks_six_and_the_next_rotation()
    {
        using var cli = new Cli();
        var week = await cli.JsonAsync("presets", "--date", "2026-12-31");
        Assert.Equal("2026-W53", week.GetProperty("week").GetString());
        Assert.Equal(6, week.GetProperty("active").GetArrayLength());
        Assert.Equal(new DateTimeOffset(2027, 1, 4, 0, 0, 0, TimeSpan.Zero), week.GetProperty("nextRotation").GetDateTimeOffset());
    }

    [Fact]
    public async Task Submit_then_worker_then_status_and_feed()
    {
        using var cli = new Cli();
        var submitted = await cli.JsonAsync("submit", "neo-glitch", "--image", Cli.Portrait, "--tag", "night-walk");
        var id = submitted.GetProperty("id").GetString()!;
        Assert.Equal("queued", submitted.GetProperty("status").GetString());
        Assert.Equal("queued", (await cli.JsonAsync("status", "neo-glitch", id)).GetProperty("status").GetString());

        var worker = await cli.JsonAsync("worker", "--exit-when-idle");
        Assert.True(worker.GetProperty("processed").GetInt64() >= 1);
        Assert.Equal("completed", (await cli.JsonAsync("status", "neo-glitch", id)).GetProperty("status").GetString());

        var feed = await cli.JsonAsync("feed", "--tag", "night-walk");
        var items = feed.GetProperty("items").EnumerateArray().ToList();
        Assert.Single(items);
        Assert.Equal(id, items[0].GetProperty("id").GetString());
        Assert.Empty((await cli.JsonAsync("feed", "--tag", "other")).GetProperty("items").EnumerateArray());
        Assert.Empty((await cli.JsonAsync("feed", "--user", "someone-else")).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task Feed_pages_newest_first_with_a_cursor()
    {
        using var cli = new Cli();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await cli.JsonAsync("submit", "neo-glitch", "--image", Cli.Portrait)).GetProperty("id").GetString()!);
        }

        var first = await cli.JsonAsync("feed", "--limit", "2");
        var cursor = first.GetProperty("nextCursor").GetString()!;
        var second = await cli.JsonAsync("feed", "--limit", "2", "--cursor", cursor);
        var seen = first.GetProperty("items").EnumerateArray().Concat(second.GetProperty("items").EnumerateArray()).Select(i => i.GetProperty("id").GetString()).ToList();
        Assert.Equal(Enumerable.Reverse(ids), seen);
        Assert.Equal(JsonValueKind.Null, second.GetProperty("nextCursor").ValueKind);
    }

    [Fact]
    public async Task Cancel_a_queued_job_and_another_user_cannot_see_it()
    {
        using var cli = new Cli();
        var id = (await cli.JsonAsync("submit", "neo-glitch", "--image", Cli.Portrait, "--user", "alice")).GetProperty("id").GetString()!;
        var other = await cli.RunAsync("status", "neo-glitch", id, "--user", "mallory");
        Assert.NotEqual(0, other.ExitCode);
        var canceled = await cli.JsonAsync("cancel", "neo-glitch", id, "--user", "alice");
        Assert.Equal("canceled", canceled.GetProperty("status").GetString());
    }

    public static TheoryData<string, string[], string> BadInputs => new()
    {
        { "unknown type", ["generate", "pixel-art", "--image", "PORTRAIT"], "Unknown generation type 'pixel-art'" },
        { "missing file", ["generate", "neo-glitch", "--image", "/no/such/photo.png"], "Image file not found: /no/such/photo.png" },
        { "not an image", ["generate", "neo-glitch", "--image", "TEXTFILE"], "not an image" },
        { "empty prompt", ["generate", "neo-glitch", "--image", "PORTRAIT", "--prompt", "  "], "prompt is empty" },
        { "oversized prompt", ["generate", "neo-glitch", "--image", "PORTRAIT", "--prompt", new string('x', 5000)], "accepts at most 2000" },
        { "custom prompt without prompt", ["generate", "custom-prompt", "--image", "PORTRAIT"], "needs a prompt" },
        { "unknown style", ["generate", "neo-glitch", "--image", "PORTRAIT", "--preset", "sparkles"], "Unknown style 'sparkles'" },
        { "unknown emotion", ["generate", "emotion-mask", "--image", "PORTRAIT", "--emotion", "smug"], "Unknown emotion 'smug'" },
        { "truncated image", ["generate", "neo-glitch", "--image", "TRUNCATED"], "truncated" },
        { "bad job id", ["status", "neo-glitch", "not-a-uuid"], "is not a job id" },
        { "image url to loopback", ["generate", "neo-glitch", "--image", "http://127.0.0.1:9/x.png"], "loopback, private or link-local" },
        { "file url", ["generate", "neo-glitch", "--image", "file:///etc/passwd"], "must be http or https" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task Bad_input_exits_non_zero_with_one_line_and_writes_nothing(string name, string[] args, string expected)
    {
        using var cli = new Cli();
        var text = Path.Combine(cli.DataDirectory, "..", $"notes-{Guid.NewGuid():N}.txt");
        var truncated = Path.Combine(cli.DataDirectory, "..", $"truncated-{Guid.NewGuid():N}.png");
        await File.WriteAllTextAsync(text, "this is not an image");
        await File.WriteAllBytesAsync(truncated, File.ReadAllBytes(Cli.Portrait)[..2000]);
        try
        {
            var resolved = args.Select(a => a switch { "PORTRAIT" => Cli.Portrait, "TEXTFILE" => text, "TRUNCATED" => truncated, _ => a }).ToArray();
            var result = await cli.RunAsync(resolved);

            Assert.True(result.ExitCode != 0, name);
            var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Single(lines);
            Assert.StartsWith("error: ", lines[0], StringComparison.Ordinal);
            Assert.Contains(expected, lines[0], StringComparison.Ordinal);
            Assert.Equal(string.Empty, result.Stdout);
            Assert.Equal(0, cli.CountRows(AllTables));
            Assert.Empty(cli.ImageFiles());
        }
        finally
        {
            File.Delete(text);
            File.Delete(truncated);
        }
    }
}
