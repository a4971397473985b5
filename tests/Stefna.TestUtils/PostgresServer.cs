using System.Diagnostics;
using Npgsql;
using Xunit;

namespace Stefna.TestUtils;

/// <summary>
/// The PostgreSQL server tests run against: <c>STEFNA_TEST_POSTGRES</c> when set (CI starts one with
/// <c>eng/start-postgres.sh</c>), otherwise a throwaway server this test run starts once with that same script and
/// stops when the process exits. When no server can be had, it throws with a clear message: database tests fail,
/// they never skip.
/// </summary>
public static class PostgresServer
{
    /// <summary>The environment variable naming an existing server's connection string.</summary>
    public const string EnvironmentVariable = "STEFNA_TEST_POSTGRES";

    private static readonly Lazy<Task<string>> Server = new(StartAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>A connection string to the server's maintenance database (for CREATE/DROP DATABASE).</summary>
    /// <returns>The connection string.</returns>
    public static Task<string> GetAdminConnectionStringAsync() => Server.Value;

    /// <summary>Creates a fresh, empty database with a unique name.</summary>
    /// <param name="prefix">A readable prefix for the name.</param>
    /// <returns>A connection string to it.</returns>
    public static async Task<string> CreateDatabaseAsync(string prefix = "stefna_test")
    {
        var admin = await GetAdminConnectionStringAsync().ConfigureAwait(false);
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(63, prefix.Length + 33)];
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync().ConfigureAwait(false);
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync().ConfigureAwait(false);
        }

        return new NpgsqlConnectionStringBuilder(admin) { Database = name, Pooling = true }.ConnectionString;
    }

    /// <summary>Drops a database made by <see cref="CreateDatabaseAsync"/>, closing its sessions first.</summary>
    /// <param name="connectionString">Its connection string.</param>
    /// <returns>A task that completes when it is gone.</returns>
    public static async Task DropDatabaseAsync(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        var admin = await GetAdminConnectionStringAsync().ConfigureAwait(false);
        await using var connection = new NpgsqlConnection(admin);
        await connection.OpenAsync().ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    /// <summary>Finds a file of the repository by walking up from the test's output folder.</summary>
    /// <param name="relativePath">The path inside the repository, e.g. <c>eng/start-postgres.sh</c>.</param>
    /// <returns>The full path, or <see langword="null"/>.</returns>
    public static string? FindRepositoryFile(string relativePath)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relativePath);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static async Task<string> StartAsync()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            await EnsureReachableAsync(fromEnvironment, $"the server named by {EnvironmentVariable}").ConfigureAwait(false);
            return fromEnvironment;
        }

        var script = FindRepositoryFile("eng/start-postgres.sh")
            ?? throw new InvalidOperationException($"No PostgreSQL for the tests: {EnvironmentVariable} is not set and eng/start-postgres.sh was not found above {AppContext.BaseDirectory}.");
        var stateDir = Path.Combine(Path.GetTempPath(), $"stefna-pg-tests-{Environment.ProcessId}");
        var (exitCode, output) = await RunAsync("bash", [script], stateDir).ConfigureAwait(false);
        var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .LastOrDefault(l => l.StartsWith(EnvironmentVariable + "=", StringComparison.Ordinal));
        if (exitCode != 0 || line is null)
        {
            throw new InvalidOperationException($"No PostgreSQL for the tests: {EnvironmentVariable} is not set and eng/start-postgres.sh failed (exit {exitCode}). Install PostgreSQL (apt-get install postgresql) or set {EnvironmentVariable}. Output:\n{output}");
        }

        var stop = Path.Combine(Path.GetDirectoryName(script)!, "stop-postgres.sh");
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                RunAsync("bash", [stop], stateDir).GetAwaiter().GetResult();
            }
            catch (Exception)
            {
                // Best effort at exit.
            }
        };

        var connectionString = line[(EnvironmentVariable.Length + 1)..];
        await EnsureReachableAsync(connectionString, "the throwaway server").ConfigureAwait(false);
        return connectionString;
    }

    private static async Task EnsureReachableAsync(string connectionString, string what)
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException($"No PostgreSQL for the tests: {what} cannot be reached ({ex.Message}).", ex);
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, string[] args, string stateDir)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["STEFNA_PG_DIR"] = stateDir;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        return (process.ExitCode, await stderr.ConfigureAwait(false) + await stdout.ConfigureAwait(false));
    }
}

/// <summary>A class fixture: a fresh database per test class, dropped afterwards.</summary>
public sealed class PostgresDatabase : IAsyncLifetime
{
    private string? _connectionString;

    /// <summary>The database's connection string.</summary>
    public string ConnectionString => _connectionString ?? throw new InvalidOperationException("The database is not created yet.");

    /// <summary>Creates a data source for the database.</summary>
    /// <returns>A new data source (the caller disposes it).</returns>
    public NpgsqlDataSource CreateDataSource() => NpgsqlDataSource.Create(ConnectionString);

    /// <inheritdoc />
    public async Task InitializeAsync() => _connectionString = await PostgresServer.CreateDatabaseAsync().ConfigureAwait(false);

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_connectionString is not null)
        {
            await PostgresServer.DropDatabaseAsync(_connectionString).ConfigureAwait(false);
        }
    }
}
