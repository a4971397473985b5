using System.Text.Json;

namespace Stefna.Samples.Console.Tests;

/// <summary>
/// Issue 18: under <c>--json</c> a failure was plain text on stderr with nothing on stdout. It is now one
/// <c>{"error":{"category","code","message"}}</c> object on stdout, with the same non-zero exit code and the
/// "error:" line still on stderr.
/// </summary>
public sealed class JsonErrorTests
{
    public static TheoryData<int, string, string, string[]> Failures => new()
    {
        { 2, "usage", "usage", ["feed", "--limit", "0"] },
        { 1, "invalid_request", "invalid_request", ["status", "custom-prompt", "not-a-uuid"] },
        { 1, "not_found", "not_found", ["status", "custom-prompt", "6f1c1f52-9a4e-4a43-9d55-3f3c2f0b8d11"] },
        { 1, "invalid_request", "invalid_request.unknown_type", ["submit", "no-such-type", "--prompt", "a cat"] },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task A_failure_under_json_is_one_error_object_on_stdout(int exitCode, string category, string code, string[] args)
    {
        using var cli = new Cli();

        var result = await cli.RunAsync([.. args, "--json"]);

        Assert.Equal(exitCode, result.ExitCode);
        var line = Assert.Single(result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var error = JsonDocument.Parse(line).RootElement.GetProperty("error");
        Assert.Equal(category, error.GetProperty("category").GetString());
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.StartsWith("error: ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failure_without_json_leaves_stdout_empty()
    {
        using var cli = new Cli();

        var result = await cli.RunAsync("status", "custom-prompt", "not-a-uuid");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal(string.Empty, result.Stdout);
    }

    [Fact]
    public async Task A_reused_idempotency_key_under_json_names_its_code()
    {
        using var cli = new Cli();
        Assert.Equal(0, (await cli.RunAsync("submit", "custom-prompt", "--prompt", "a cat", "--idempotency-key", "k-1")).ExitCode);

        var result = await cli.RunAsync("submit", "custom-prompt", "--prompt", "a dog", "--idempotency-key", "k-1", "--json");

        Assert.Equal(1, result.ExitCode);
        var error = JsonDocument.Parse(result.Stdout).RootElement.GetProperty("error");
        Assert.Equal("invalid_request", error.GetProperty("category").GetString());
        Assert.Equal("invalid_request.idempotency_conflict", error.GetProperty("code").GetString());
        Assert.DoesNotContain("invalid_request.idempotency_conflict:", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}

/// <summary>A command that printed its result before failing (cancel of a finished job) prints no second object.</summary>
public sealed class JsonResultThenFailureTests
{
    [Fact]
    public async Task Canceling_a_completed_job_under_json_prints_only_the_job()
    {
        using var cli = new Cli();
        var id = (await cli.JsonAsync("generate", "custom-prompt", "--prompt", "a cat")).GetProperty("id").GetString()!;

        var result = await cli.RunAsync("cancel", "custom-prompt", id, "--json");

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var job = JsonDocument.Parse(line).RootElement;
        Assert.Equal("completed", job.GetProperty("status").GetString());
        Assert.False(job.TryGetProperty("error", out _));
        Assert.StartsWith("error: The job is already completed", result.Stderr, StringComparison.Ordinal);
    }
}
