using System.Text.RegularExpressions;

namespace Stefna.Samples.Console.Tests;

/// <summary>
/// Issue 18: <c>generate</c> showed one spinner, with no state, attempt or elapsed time. With --verbose (or when
/// stderr is a terminal) it prints a line on stderr per change of state or attempt, ending with the final state.
/// </summary>
public sealed partial class ProgressTests
{
    [Fact]
    public async Task Generate_with_verbose_prints_state_attempt_and_elapsed_time_on_stderr()
    {
        using var cli = new Cli();

        var result = await cli.RunAsync("generate", "custom-prompt", "--prompt", "a cat", "--verbose", "--json");

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Stderr}");
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).Where(l => l.StartsWith("generate ", StringComparison.Ordinal)).ToList();
        Assert.True(lines.Count >= 2, result.Stderr);
        Assert.All(lines, line => Assert.Matches(ProgressLine(), line));
        Assert.Matches(@": queued, attempt 0, \d+\.\d s$", lines[0]);
        Assert.Matches(@": completed, attempt 1, \d+\.\d s$", lines[^1]);
    }

    [Fact]
    public async Task Generate_without_verbose_and_without_a_terminal_prints_no_progress()
    {
        using var cli = new Cli();

        var result = await cli.RunAsync("generate", "custom-prompt", "--prompt", "a cat");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(string.Empty, result.Stderr);
    }

    [GeneratedRegex(@"^generate custom-prompt [0-9a-f-]{36}: (queued|processing|completed), attempt \d+, \d+\.\d s$")]
    private static partial Regex ProgressLine();
}
