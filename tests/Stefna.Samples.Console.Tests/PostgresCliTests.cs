using System.Diagnostics;
using System.Text.Json;
using Npgsql;
using Stefna.TestUtils;

namespace Stefna.Samples.Console.Tests;

/// <summary>The CLI's commands against PostgreSQL (<c>--postgres</c>): the jobs land in the type tables of that
/// database, not in the embedded SQLite file.</summary>
public sealed class PostgresCliTests : IAsyncLifetime
{
    private string _connectionString = "";

    public async Task InitializeAsync() => _connectionString = await PostgresServer.CreateDatabaseAsync("stefna_cli");

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await PostgresServer.DropDatabaseAsync(_connectionString);
    }

    [Theory]
    [InlineData("--batch-size", "0", "error: --batch-size must be at least 1.")]
    [InlineData("--batch-size", "-5", "error: --batch-size must be at least 1.")]
    [InlineData("--source", "Host=127.0.0.1;Bogus Keyword=1;Password=s3cret", "error: --source is not a valid PostgreSQL connection string")]
    public async Task Migrate_with_a_bad_batch_size_or_source_fails_with_one_line(string option, string value, string expected)
    {
        using var cli = new Cli();

        var result = await cli.RunAsync("migrate", "--dry-run", option, value, "--postgres", _connectionString);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", line, StringComparison.Ordinal);
        Assert.Equal(string.Empty, result.Stdout);
    }

    [Fact]
    public async Task Generate_submit_worker_status_and_feed_run_against_postgres()
    {
        using var cli = new Cli();

        var generated = await cli.JsonAsync("generate", "neo-glitch", "--image", Cli.Portrait, "--postgres", _connectionString);
        Assert.Equal("completed", generated.GetProperty("status").GetString());

        var submitted = await cli.JsonAsync("submit", "emotion-mask", "--image", Cli.Portrait, "--emotion", "joy", "--postgres", _connectionString);
        var submittedId = submitted.GetProperty("id").GetString()!;
        Assert.Equal("queued", submitted.GetProperty("status").GetString());
        Assert.Equal("queued", await StatusInDatabaseAsync("emotion_mask_media", submittedId));

        var worker = await cli.RunAsync("worker", "--exit-when-idle", "--postgres", _connectionString);
        Assert.True(worker.ExitCode == 0, worker.Stderr);

        var status = await cli.JsonAsync("status", "emotion-mask", submittedId, "--postgres", _connectionString);
        Assert.Equal("completed", status.GetProperty("status").GetString());
        Assert.Equal("completed", await StatusInDatabaseAsync("emotion_mask_media", submittedId));
        Assert.Equal("completed", await StatusInDatabaseAsync("neo_glitch_media", generated.GetProperty("id").GetString()!));

        var feed = await cli.JsonAsync("feed", "--postgres", _connectionString);
        var ids = feed.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()).ToList();
        Assert.Equal([submittedId, generated.GetProperty("id").GetString()], ids);

        // Nothing went to the embedded store.
        Assert.Equal(0, cli.CountRows("neo_glitch_media", "emotion_mask_media"));
    }

    [Fact]
    public async Task The_STEFNA_POSTGRES_variable_selects_postgres_too()
    {
        // A child process, so the variable cannot leak into tests running in parallel.
        using var data = new TempDirectory();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { ConsoleSampleDll(), "submit", "neo-glitch", "--image", Cli.Portrait, "--json", "--data", data.Path })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["STEFNA_POSTGRES"] = _connectionString;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);

        Assert.True(process.ExitCode == 0, await stderr);
        var id = JsonDocument.Parse(await stdout).RootElement.GetProperty("id").GetString()!;
        Assert.Equal("queued", await StatusInDatabaseAsync("neo_glitch_media", id));
        Assert.False(File.Exists(Path.Combine(data.Path, "stefna.db")), "the embedded store should not have been created");
    }

    /// <summary>The console sample's own build output (same configuration as this test), with its own deps file.</summary>
    private static string ConsoleSampleDll()
    {
        var testBin = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);
        var relative = Path.GetRelativePath(Path.Combine(Cli.RepoRoot, "tests", "Stefna.Samples.Console.Tests"), testBin);
        var dll = Path.Combine(Cli.RepoRoot, "samples", "Stefna.Samples.Console", relative, "stefna.dll");
        Assert.True(File.Exists(dll), $"the console sample is built by this project's reference: {dll}");
        return dll;
    }

    private async Task<string?> StatusInDatabaseAsync(string table, string id)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT status FROM {table} WHERE id = @id", connection);
        command.Parameters.AddWithValue("id", Guid.Parse(id));
        return (string?)await command.ExecuteScalarAsync();
    }
}
