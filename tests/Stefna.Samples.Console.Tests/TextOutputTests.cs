namespace Stefna.Samples.Console.Tests;

/// <summary>Issue 18: the text output (Spectre grids and tables) padded every line with trailing spaces.</summary>
public sealed class TextOutputTests
{
    [Fact]
    public async Task No_line_of_the_text_output_ends_with_a_space()
    {
        using var cli = new Cli();
        var id = (await cli.JsonAsync("submit", "custom-prompt", "--prompt", "a cat", "--tag", "t1")).GetProperty("id").GetString()!;

        var outputs = new List<CliResult>
        {
            await cli.RunAsync("generate", "neo-glitch", "--image", Cli.Portrait, "--tag", "a-rather-long-tag"),
            await cli.RunAsync("status", "custom-prompt", id),
            await cli.RunAsync("feed"),
            await cli.RunAsync("presets", "--date", "2026-01-05"),
            await cli.RunAsync("--help"),
            await cli.RunAsync("generate", "--help"),
        };

        foreach (var result in outputs)
        {
            Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Stderr}");
            var lines = result.Stdout.Split('\n');
            Assert.True(lines.Length > 2, result.Stdout);
            foreach (var line in lines)
            {
                Assert.False(line.TrimEnd('\r').EndsWith(' '), $"trailing space in '{line}'");
            }
        }

        // The usage printed when no command is given goes to stderr, trimmed the same way.
        var usage = await cli.RunAsync();
        Assert.Contains("Usage:", usage.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(usage.Stderr.Split('\n'), line => line.TrimEnd('\r').EndsWith(' '));
    }
}
