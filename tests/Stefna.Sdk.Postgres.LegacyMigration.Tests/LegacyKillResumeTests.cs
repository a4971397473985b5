using Npgsql;
using Stefna.LegacySeeding;
using Stefna.Sdk.Postgres.Legacy;
using Stefna.TestUtils;
using Xunit.Abstractions;
using static Stefna.Sdk.Postgres.LegacyMigration.Tests.LegacyTestSupport;

namespace Stefna.Sdk.Postgres.LegacyMigration.Tests;

/// <summary>The CLI's <c>migrate</c> as a child process, SIGKILLed at random points of its progress and re-run, ends with exactly what
/// a clean run writes on a copy of the same legacy data; <c>migrate --verify</c> names a tampered row and exits 3.</summary>
public sealed class LegacyKillResumeTests(ITestOutputHelper output)
{
    private const int Rows = 200_000;

    [Fact]
    public async Task Killed_migrations_resume_to_exactly_the_clean_result()
    {
        var killed = await PostgresServer.CreateDatabaseAsync("stefna_legacy_kill");
        var clean = await PostgresServer.CreateDatabaseAsync("stefna_legacy_clean");
        try
        {
            await using (var a = NpgsqlDataSource.Create(killed))
            await using (var b = NpgsqlDataSource.Create(clean))
            {
                await LegacySeeder.SeedAsync(a, Types, Rows, seed: 42);
                await LegacySeeder.SeedAsync(b, Types, Rows, seed: 42);
                await using var migrator = Migrator(b, batchSize: 10_000);
                await migrator.RunAsync();
            }

            var seed = Environment.TickCount;
            var random = new Random(seed);
            output.WriteLine($"kill point seed {seed}");
            var kills = 0;
            for (var attempt = 0; attempt < 4; attempt++)
            {
                using var process = StartCli("migrate", "--postgres", killed, "--batch-size", "5000", "--json");
                _ = process.StandardOutput.ReadToEndAsync();
                // Where to kill, by the run's own progress lines on stderr (one as staging starts, one before the first
                // batch and one after each): the first run mid-staging or after one of its first 18 of 40 batches, so it
                // is killed before it ends however fast or loaded the machine; resumed runs at start-up or after a few
                // more batches (they may finish first: only the first kill is certain).
                var (phase, nth) = attempt == 0
                    ? (random.Next(3) == 0 ? ("staging", 1) : ("migrating", random.Next(2, 20)))
                    : (random.Next(5) == 0 ? ("start-up", 0) : ("migrating", random.Next(2, 6)));
                var lines = new List<string>();
                var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                if (nth == 0)
                {
                    reached.SetResult();
                }

                var reading = Task.Run(async () =>
                {
                    var seen = 0;
                    while (await process.StandardError.ReadLineAsync() is { } line)
                    {
                        lock (lines)
                        {
                            lines.Add(line);
                        }

                        if (line.StartsWith($"migrate: {phase} ", StringComparison.Ordinal) && ++seen == nth)
                        {
                            reached.TrySetResult();
                        }
                    }
                });
                await Task.WhenAny(process.WaitForExitAsync(), reached.Task);
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true); // SIGKILL: no cleanup code runs
                    kills++;
                }

                await process.WaitForExitAsync();
                await reading;
                output.WriteLine($"attempt {attempt}: at {phase} line {nth} {(process.ExitCode == 0 ? "it had finished" : "killed")}; last lines: {string.Join(" | ", lines.TakeLast(3))}");
            }

            Assert.True(kills >= 1, "no run was killed");
            var (exit, stdout, err) = await RunCliAsync(TimeSpan.FromMinutes(3), "migrate", "--postgres", killed, "--batch-size", "5000", "--json");
            Assert.True(exit == 0, err);
            Assert.Contains("\"balanced\":true", stdout, StringComparison.Ordinal);
            output.WriteLine($"{kills} kill(s); final run: {stdout[..Math.Min(300, stdout.Length)]}");

            Assert.Equal(await TargetChecksumAsync(clean), await TargetChecksumAsync(killed));

            // The first run's report, however often it was interrupted, is the clean run's report.
            const string firstReport = "SELECT report::text FROM stefna_legacy_runs WHERE run_id = 1";
            Assert.Equal(await PostgresQueries.ScalarAsync<string>(clean, firstReport), await PostgresQueries.ScalarAsync<string>(killed, firstReport));

            var verify = await RunCliAsync(TimeSpan.FromMinutes(2), "migrate", "--verify", "--postgres", killed);
            Assert.True(verify.ExitCode == 0, verify.Stderr + verify.Stdout);

            var legacyId = await PostgresQueries.ScalarAsync<string>(killed, "SELECT legacy_id FROM presets_media WHERE legacy_id IS NOT NULL ORDER BY legacy_id LIMIT 1");
            await PostgresQueries.ExecuteAsync(killed, $"UPDATE presets_media SET image_url = image_url || '?x' WHERE legacy_id = '{legacyId}'");
            var tampered = await RunCliAsync(TimeSpan.FromMinutes(2), "migrate", "--verify", "--postgres", killed, "--json");
            Assert.Equal(3, tampered.ExitCode);
            Assert.Contains($"\"legacyId\":\"{legacyId}\"", tampered.Stdout, StringComparison.Ordinal);
            Assert.Contains("verification failed", tampered.Stderr, StringComparison.Ordinal);

            var drop = await RunCliAsync(TimeSpan.FromMinutes(2), "migrate", "--drop-legacy", "--postgres", killed);
            Assert.Equal(1, drop.ExitCode);
            Assert.Contains("latest verification failed", drop.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(killed);
            await PostgresServer.DropDatabaseAsync(clean);
        }
    }

    [Fact]
    public async Task Migrate_without_postgres_fails_with_one_line()
    {
        var (exit, _, stderr) = await RunCliAsync(TimeSpan.FromMinutes(1), "migrate", "--dry-run");

        Assert.Equal(2, exit);
        Assert.Equal("error: migrate needs PostgreSQL: pass --postgres <connection string> or set STEFNA_POSTGRES.", stderr.Trim());
    }
}
