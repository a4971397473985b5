using Microsoft.Data.Sqlite;
using Stefna.Samples.Console;
using Stefna.TestUtils;

namespace Stefna.Reliability.Tests;

/// <summary>
/// Bad input through the console CLI (in-process <c>CliApp.RunAsync</c> over the embedded default): every case exits
/// non-zero with one line on stderr naming the typed error, prints nothing on stdout, and leaves no row and no image.
/// </summary>
public sealed class CliBadInputTests
{
    public static TheoryData<string, string[], string> Cases => new()
    {
        { "unknown type", ["generate", "deep-fake", "--image", "{portrait}"], "invalid_request.unknown_type" },
        { "path traversal as the type", ["generate", "../../neo-glitch", "--image", "{portrait}"], "invalid_request.unknown_type" },
        { "image file that does not exist", ["generate", "neo-glitch", "--image", "{dir}/missing.png"], "invalid_request.image_not_found" },
        { "text file as the image", ["generate", "neo-glitch", "--image", "{text}"], "invalid_request.not_an_image" },
        { "truncated PNG", ["generate", "neo-glitch", "--image", "{truncated}"], "invalid_request.truncated" },
        { "small file declaring huge dimensions", ["generate", "neo-glitch", "--image", "{huge}"], "invalid_request.too_many_pixels" },
        { "path traversal to /etc/passwd as the image", ["generate", "neo-glitch", "--image", "{dir}/../../../../../../etc/passwd"], "invalid_request.not_an_image" },
        { "unknown emotion", ["generate", "emotion-mask", "--image", "{portrait}", "--emotion", "smug"], "invalid_request.unknown_emotion" },
        { "unknown preset", ["generate", "presets", "--image", "{portrait}", "--preset", "no-such-preset"], "invalid_request.unknown_preset" },
        { "unknown neo-glitch style", ["submit", "neo-glitch", "--image", "{portrait}", "--preset", "vaporwave-9000"], "invalid_request.unknown_style" },
        { "empty prompt", ["generate", "custom-prompt", "--prompt", ""], "invalid_request.prompt_required" },
        { "oversized prompt", ["submit", "custom-prompt", "--prompt", new string('p', 5000)], "invalid_request.prompt_too_long" },
        { "SQL metacharacters in a tag", ["submit", "custom-prompt", "--prompt", "a cat", "--tag", "x'; DROP TABLE custom_prompt_media;--"], "invalid_request.tag_invalid" },
        { "file:// image URL", ["generate", "neo-glitch", "--image", "file:///etc/passwd"], "invalid_request.url_scheme" },
        { "loopback image URL", ["generate", "neo-glitch", "--image", "http://127.0.0.1:9/a.png"], "invalid_request.url_private_address" },
        { "cloud metadata image URL", ["generate", "neo-glitch", "--image", "http://169.254.169.254/latest/meta-data/"], "invalid_request.url_private_address" },
        { "private-range image URL", ["submit", "neo-glitch", "--image", "http://10.0.0.1/a.png"], "invalid_request.url_private_address" },
        { "path traversal as a job id", ["status", "neo-glitch", "../../etc/passwd"], "is not a job id" },
        { "SQL as a job id", ["cancel", "neo-glitch", "1' OR '1'='1"], "is not a job id" },
        { "/dev/zero as the image", ["generate", "neo-glitch", "--image", "/dev/zero"], "invalid_request.image_not_a_file" },
        { "a FIFO as the image", ["generate", "neo-glitch", "--image", "{fifo}"], "invalid_request.image_not_a_file" },
        { "user id with a control character", ["submit", "custom-prompt", "--prompt", "a cat", "--user", "alice\u0001"], "invalid_request.bad_user" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Bad_input_through_the_cli_exits_non_zero_with_one_clear_line_and_leaves_nothing_behind(string name, string[] args, string expected)
    {
        using var data = new TempDirectory();
        using var inputs = new TempDirectory();
        File.WriteAllText(inputs.File("notes.txt"), "not an image");
        File.WriteAllBytes(inputs.File("cut.png"), TestImages.TruncatedPng());
        File.WriteAllBytes(inputs.File("huge.png"), TestImages.PngDeclaring(60_000, 60_000));
        File.WriteAllBytes(inputs.File("portrait.png"), TestImages.Png(64, 64, seed: 9));
        HostileInputTests.MakeFifo(inputs.File("pipe.png"));
        var resolved = args.Select(a => a
            .Replace("{portrait}", inputs.File("portrait.png"), StringComparison.Ordinal)
            .Replace("{text}", inputs.File("notes.txt"), StringComparison.Ordinal)
            .Replace("{truncated}", inputs.File("cut.png"), StringComparison.Ordinal)
            .Replace("{huge}", inputs.File("huge.png"), StringComparison.Ordinal)
            .Replace("{fifo}", inputs.File("pipe.png"), StringComparison.Ordinal)
            .Replace("{dir}", inputs.Path, StringComparison.Ordinal)).ToArray();
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        // Bounded, so an input that hangs the CLI (a FIFO did) fails the test instead of the run.
        var code = await CliApp.RunAsync([.. resolved, "--data", data.Path], stdout, stderr, interactive: false, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(1));

        var lines = stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEqual(0, code);
        Assert.Equal(string.Empty, stdout.ToString());
        var line = Assert.Single(lines);
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.Equal(0, CountRows(data.Path));
        var images = Path.Combine(data.Path, "images");
        Assert.Empty(Directory.Exists(images) ? Directory.GetFiles(images, "*", SearchOption.AllDirectories) : []);
        Figures.Record("bad input (cli): " + name, new Dictionary<string, object> { ["bad_inputs_tried"] = 1, ["exit_code"] = code });
    }

    private static long CountRows(string dataDirectory) => SqliteRows.Count(dataDirectory, SdkHost.Tables);
}
