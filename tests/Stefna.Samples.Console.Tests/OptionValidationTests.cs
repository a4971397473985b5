namespace Stefna.Samples.Console.Tests;

/// <summary>
/// Issue 16: <c>generate --timeout -5</c> queued a job, then failed with "Specified argument was out of the range…
/// (Parameter 'delay')". Every option is checked when the command line is parsed, before anything is queued or
/// written: exit code 2, one "error:" line naming the option, nothing on stdout, no row, no image.
/// </summary>
public sealed class OptionValidationTests
{
    private static readonly string[] AllTables = ["neo_glitch_media", "emotion_mask_media", "presets_media", "ghibli_reaction_media", "custom_prompt_media"];

    public static TheoryData<string, string[]> BadOptions => new()
    {
        { "--timeout", ["generate", "custom-prompt", "--prompt", "a cat", "--timeout", "-5"] },
        { "--timeout", ["generate", "custom-prompt", "--prompt", "a cat", "--timeout", "0"] },
        { "--timeout", ["generate", "custom-prompt", "--prompt", "a cat", "--timeout", "99999999"] },
        { "--limit", ["feed", "--limit", "0"] },
        { "--limit", ["feed", "--limit", "100000"] },
        { "--provider", ["submit", "custom-prompt", "--prompt", "a cat", "--provider", "dall-e"] },
        { "--provider-base", ["submit", "custom-prompt", "--prompt", "a cat", "--provider-base", "not a url"] },
        { "--cloudinary-api-base", ["submit", "custom-prompt", "--prompt", "a cat", "--cloudinary-api-base", "ftp://example.com"] },
        { "--data", ["submit", "custom-prompt", "--prompt", "a cat", "--data", " "] },
        { "--user", ["submit", "custom-prompt", "--prompt", "a cat", "--user", ""] },
        { "--batch-size", ["migrate", "--batch-size", "0"] },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public async Task A_bad_option_is_refused_before_anything_is_queued(string option, string[] args)
    {
        using var cli = new Cli();

        var result = await cli.RunAsync(args);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(string.Empty, result.Stdout);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains(option, line, StringComparison.Ordinal);
        Assert.Equal(0, cli.CountRows(AllTables));
        Assert.Empty(cli.ImageFiles());
    }

    /// <summary>Issue 16, in the CLI: a reused idempotency key with another prompt is one clear error line, not the first
    /// job's id; the same request still prints the first job's id.</summary>
    [Fact]
    public async Task A_reused_idempotency_key_with_another_prompt_is_a_clear_error()
    {
        using var cli = new Cli();
        var first = await cli.RunAsync("submit", "custom-prompt", "--prompt", "a cat", "--idempotency-key", "k-1");
        var same = await cli.RunAsync("submit", "custom-prompt", "--prompt", "a cat", "--idempotency-key", "k-1");

        var other = await cli.RunAsync("submit", "custom-prompt", "--prompt", "a dog", "--idempotency-key", "k-1");

        Assert.Equal(0, first.ExitCode);
        Assert.Equal(first.Stdout, same.Stdout);
        Assert.NotEqual(0, other.ExitCode);
        Assert.Equal(string.Empty, other.Stdout);
        var line = Assert.Single(other.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: invalid_request.idempotency_conflict: ", line, StringComparison.Ordinal);
        Assert.Contains(first.Stdout.Trim(), line, StringComparison.Ordinal);
        Assert.Equal(1, cli.CountRows(AllTables));
    }
}
