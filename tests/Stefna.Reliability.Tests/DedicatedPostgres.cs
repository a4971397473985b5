using System.Diagnostics;
using Npgsql;
using Stefna.TestUtils;

namespace Stefna.Reliability.Tests;

/// <summary>
/// A throwaway PostgreSQL server of this test's own (eng/start-postgres.sh on a unique STEFNA_PG_DIR), so the test
/// may restart it: the shared server (STEFNA_TEST_POSTGRES) belongs to everyone and must never be restarted.
/// Stopped and removed on dispose.
/// </summary>
internal sealed class DedicatedPostgres : IAsyncDisposable
{
    private readonly string _stateDir;

    private DedicatedPostgres(string stateDir, string connectionString)
    {
        _stateDir = stateDir;
        ConnectionString = connectionString;
    }

    /// <summary>The connection string of the server's <c>postgres</c> database.</summary>
    public string ConnectionString { get; }

    public static async Task<DedicatedPostgres> StartAsync()
    {
        var script = Script("start-postgres.sh");
        var stateDir = NewStateDir();
        var (code, output) = await RunAsync("bash", [script], stateDir, TimeSpan.FromMinutes(3));
        var line = output.Split('\n', StringSplitOptions.TrimEntries).LastOrDefault(l => l.StartsWith("STEFNA_TEST_POSTGRES=", StringComparison.Ordinal));
        if (code != 0 || line is null)
        {
            throw new InvalidOperationException($"eng/start-postgres.sh failed (exit {code}):\n{output}");
        }

        return new DedicatedPostgres(stateDir, line["STEFNA_TEST_POSTGRES=".Length..]);
    }

    /// <summary>The server's port on 127.0.0.1.</summary>
    public int Port => new NpgsqlConnectionStringBuilder(ConnectionString).Port;

    /// <summary>Restarts the server (<c>pg_ctl restart -m fast</c>): every session is cut, the server comes back on
    /// the same port with the same options, and the data survives.</summary>
    public async Task RestartAsync()
    {
        await PgCtlAsync("-l", Path.Combine(_stateDir, "server.log"), "-m", "fast", "-w", "-t", "60", "restart");

        // This process's own pooled sessions were cut too.
        NpgsqlConnection.ClearAllPools();
    }

    /// <summary>Starts a streaming standby of this server (eng/start-postgres-standby.sh: <c>pg_basebackup -R</c> on a
    /// state dir of its own, its own port), disposed like any dedicated server.</summary>
    public async Task<DedicatedPostgres> StartStandbyAsync()
    {
        var stateDir = NewStateDir();
        var (code, output) = await RunAsync("bash", [Script("start-postgres-standby.sh"), _stateDir], stateDir, TimeSpan.FromMinutes(3));
        var line = output.Split('\n', StringSplitOptions.TrimEntries).LastOrDefault(l => l.StartsWith("STEFNA_TEST_POSTGRES=", StringComparison.Ordinal));
        if (code != 0 || line is null)
        {
            throw new InvalidOperationException($"eng/start-postgres-standby.sh failed (exit {code}):\n{output}");
        }

        return new DedicatedPostgres(stateDir, line["STEFNA_TEST_POSTGRES=".Length..]);
    }

    /// <summary>Stops the server (<c>pg_ctl stop -m fast</c>): sessions are cut, and a connected standby receives
    /// every WAL record up to the shutdown checkpoint before the server exits.</summary>
    public Task StopAsync() => PgCtlAsync("-m", "fast", "-w", "-t", "60", "stop");

    /// <summary>Promotes a standby to a primary (<c>pg_ctl promote -w</c>: returns once it accepts writes).</summary>
    public Task PromoteAsync() => PgCtlAsync("-w", "-t", "60", "promote");

    /// <summary>Creates a fresh database on this server.</summary>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await RunAsync("bash", [Script("stop-postgres.sh")], _stateDir, TimeSpan.FromMinutes(1));
    }

    // Short: the socket path has a length limit.
    private static string NewStateDir() => Path.Combine(Path.GetTempPath(), $"stefna-reliability-pg-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..12]}");

    private async Task PgCtlAsync(params string[] args)
    {
        var bin = Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "pg_ctl")))
            .OrderByDescending(d => d, StringComparer.Ordinal).First();
        string[] command = [Path.Combine(bin, "pg_ctl"), "-D", Path.Combine(_stateDir, "data"), .. args];
        var (code, output) = Environment.UserName == "root"
            ? await RunAsync("runuser", ["-u", "postgres", "--", .. command], _stateDir, TimeSpan.FromMinutes(2))
            : await RunAsync(command[0], command[1..], _stateDir, TimeSpan.FromMinutes(2));
        if (code != 0)
        {
            throw new InvalidOperationException($"pg_ctl {string.Join(' ', args)} failed (exit {code}):\n{output}");
        }
    }

    private static string Script(string name) => PostgresServer.FindRepositoryFile("eng/" + name)
        ?? throw new InvalidOperationException($"eng/{name} not found above {AppContext.BaseDirectory}.");

    private static async Task<(int Code, string Output)> RunAsync(string file, IEnumerable<string> args, string stateDir, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["STEFNA_PG_DIR"] = stateDir;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stderr + await stdout);
    }
}
