using System.Text.Json;

namespace Stefna.Samples.Console.Tests;

/// <summary>Issue 18: no command printed "Required command was not provided" without the usage.</summary>
public sealed class UsageTests
{
    [Fact]
    public async Task No_command_prints_the_usage_and_the_error_and_exits_2()
    {
        using var cli = new Cli();

        var result = await cli.RunAsync();

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(string.Empty, result.Stdout);
        Assert.Contains("Usage:", result.Stderr, StringComparison.Ordinal);
        foreach (var command in new[] { "generate", "submit", "status", "feed", "worker", "migrate" })
        {
            Assert.Contains(command, result.Stderr, StringComparison.Ordinal);
        }

        Assert.Contains("error: Required command was not provided", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_command_under_json_is_a_usage_error_object()
    {
        using var cli = new Cli();

        var result = await cli.RunAsync("--json");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Usage:", result.Stderr, StringComparison.Ordinal);
        var error = JsonDocument.Parse(result.Stdout).RootElement.GetProperty("error");
        Assert.Equal("usage", error.GetProperty("category").GetString());
        Assert.StartsWith("Required command was not provided", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
