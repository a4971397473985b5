using System.Diagnostics;
using System.Globalization;
using Stefna.Sdk;
using Stefna.Sdk.Postgres;
using Stefna.Sdk.Postgres.Tests;
using Stefna.Sdk.Postgres.WorkerHost;
using Stefna.Sdk.Storage;
using Stefna.TestUtils;
using Xunit.Abstractions;

namespace Stefna.Reliability.Tests;

/// <summary>
/// Faults of the job machinery itself, with real worker processes (tests/Stefna.Sdk.Postgres.WorkerHost) against
/// PostgreSQL on 127.0.0.1: workers killed with SIGKILL at random moments, and the database restarted under load.
/// An audit trigger records every transition to <c>completed</c>, so a result stored twice cannot hide.
/// </summary>
[Collection(PostgresFaults.Name)]
public sealed class WorkerFaultTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Workers_killed_with_SIGKILL_at_random_moments_lose_no_job_and_store_no_result_twice()
    {
        const int jobs = 2000;
        const int maxKills = 5;
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var connectionString = await PostgresServer.CreateDatabaseAsync("stefna_rel_kill");
        using var images = new TempDirectory();
        var workers = new List<WorkerProcess>();
        try
        {
            await PrepareAsync(connectionString, jobs);
            // Each kill costs a job in flight at most one attempt, so with more attempts than kills no job can run out
            // of attempts through kills alone, however the kills fall (under load a replacement can be killed again
            // while it re-runs the jobs it took over). The proof is about jobs lost and results stored twice.
            // Leases of 5 s (renewed every 1.7 s): a kill's jobs come back after 5 s, and a live worker loses a lease only
            // if its renewals stall for seconds. A lease lost by a live worker lets another attempt complete the job while
            // the first still runs; a kill landing between that first attempt storing its file and discarding it leaves a
            // stray file no attempt is left to delete (with 2 s leases on a loaded machine this happened: 1 stray file).
            string[] args = ["--conn", connectionString, "--images", images.Path, "--delay-ms", "15", "--lease-seconds", "5", "--concurrency", "4", "--max-attempts", (maxKills + 2).ToString(System.Globalization.CultureInfo.InvariantCulture)];
            WorkerProcess[] current = [WorkerProcess.Start(args), WorkerProcess.Start(args)];
            workers.AddRange(current);
            await Task.WhenAll(current.Select(w => w.WaitReadyAsync(StartTimeout)));

            // Kill at random moments while work remains; every killed worker is replaced at once.
            var kills = 0;
            var clock = Stopwatch.StartNew();
            while (kills < maxKills && clock.Elapsed < TimeSpan.FromSeconds(90))
            {
                await Task.Delay(random.Next(300, 1500));
                var completed = await CountAsync(connectionString, "status = 'completed'");
                if (completed >= jobs * 0.9)
                {
                    break;
                }

                // Only a worker that has completed a job is known to be claiming, so its kill costs jobs in flight; a
                // replacement still starting on a loaded machine holds none, and killing it would prove nothing.
                var victim = await WorkingVictimAsync(connectionString, current, random);
                current[victim].Kill();
                await current[victim].WaitForExitAsync(TimeSpan.FromSeconds(30));
                kills++;
                output.WriteLine($"kill {kills}: worker {current[victim].Id} at {clock.Elapsed.TotalSeconds:0.0} s with {completed} completed");
                current[victim] = WorkerProcess.Start(args);
                workers.Add(current[victim]);
            }

            var exits = await Task.WhenAll(current.Select(w => w.WaitForExitAsync(TimeSpan.FromMinutes(3))));
            Assert.True(exits.All(e => e == 0), string.Join("\n", current.Select(w => w.Output)));
            Assert.True(kills >= 2, $"only {kills} kill(s) happened before the work ran out; the proof needs several");

            var completedJobs = await CountAsync(connectionString, "status = 'completed'");
            // Completions beyond one per job: each is a result stored twice.
            var (audited, duplicated, _) = await CompletionAudit.ReadAsync(connectionString);
            var reclaimed = await CountAsync(connectionString, "attempts > 1");
            var failedJobs = await CountAsync(connectionString, "status = 'failed'");
            // Result files are named {job}-{attempt}.png: one per completed row. A killed attempt may have stored one
            // before it could complete; the attempt that completed the job deletes those (and half-written temp files).
            var resultFiles = ResultFiles(images.Path);
            var urls = await TestTypes.ScalarAsync<string>(connectionString, "SELECT coalesce(string_agg(image_url, ' '), '') FROM queue_test_media WHERE status = 'completed'");
            var referenced = urls.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(u => Path.GetFullPath(new Uri(u).LocalPath)).ToHashSet(StringComparer.Ordinal);
            var missing = referenced.Count(f => !File.Exists(f));
            var orphans = resultFiles.Where(f => !referenced.Contains(f)).ToList();
            output.WriteLine($"seed {seed}: {jobs} jobs, {kills} SIGKILLs, {reclaimed} jobs re-claimed after a kill, {completedJobs} completed, {failedJobs} failed, {audited} completions audited, {duplicated} duplicated, {resultFiles.Count} result files ({referenced.Count} referenced by completed rows, {missing} of those missing, {orphans.Count} stray), {clock.Elapsed.TotalSeconds:0.0} s");
            Figures.Record(nameof(Workers_killed_with_SIGKILL_at_random_moments_lose_no_job_and_store_no_result_twice), new Dictionary<string, object>
            {
                ["jobs_run"] = jobs, ["faults_injected"] = kills, ["fault"] = "SIGKILL of a worker process", ["jobs_reclaimed"] = reclaimed,
                ["jobs_lost"] = jobs - completedJobs, ["results_duplicated"] = duplicated, ["completions_audited"] = audited,
                ["result_files_referenced"] = referenced.Count, ["result_files_missing"] = missing, ["stray_result_files"] = orphans.Count, ["seed"] = seed,
            });

            Assert.Equal(jobs, completedJobs);
            Assert.Equal(jobs, audited);
            Assert.Equal(0, duplicated);
            Assert.True(reclaimed > 0, "no job was in flight in a killed worker; the kills proved nothing");
            Assert.Equal(jobs, referenced.Count);
            Assert.Equal(0, missing);

            // No stray file: what killed attempts stored was deleted by the attempt that completed the job (before:
            // up to one file per in-flight job of each kill stayed, referenced by nothing).
            Assert.True(orphans.Count == 0, $"stray result files: {string.Join(", ", orphans.Select(Path.GetFileName))}; leases lost by live workers (logged): {CountLines(string.Join('\n', workers.Select(w => w.Output)), "lost its lease")}");
        }
        finally
        {
            foreach (var worker in workers)
            {
                worker.Dispose();
            }

            await PostgresServer.DropDatabaseAsync(connectionString);
        }
    }

    [Fact]
    public async Task A_PostgreSQL_restart_under_load_shows_as_retries_and_every_job_still_completes()
    {
        const int jobs = 600;
        await using var server = await DedicatedPostgres.StartAsync();
        var connectionString = await server.CreateDatabaseAsync("stefna_rel_restart");
        using var images = new TempDirectory();
        // Short leases, so the outage shows as lost leases and re-claims; attempts enough (10) that the restart and a
        // loaded machine's late renewals can never use them up: what this proves is no job lost or duplicated.
        string[] args = ["--conn", connectionString, "--images", images.Path, "--delay-ms", "20", "--lease-seconds", "3", "--max-attempts", "10", "--concurrency", "4", "--wait-for-go"];
        await PrepareAsync(connectionString, jobs);
        using var first = WorkerProcess.Start(args);
        using var second = WorkerProcess.Start(args);
        await Task.WhenAll(first.WaitReadyAsync(StartTimeout), second.WaitReadyAsync(StartTimeout));
        first.Go();
        second.Go();

        // Restart once a good part of the work is done and plenty remains.
        var before = await WaitForCompletedAsync(connectionString, jobs / 4);

        var restart = Stopwatch.StartNew();
        await server.RestartAsync();
        restart.Stop();
        var exits = await Task.WhenAll(first.WaitForExitAsync(TimeSpan.FromMinutes(3)), second.WaitForExitAsync(TimeSpan.FromMinutes(3)));
        Assert.True(exits.All(e => e == 0), $"{first.Output}\n{second.Output}");

        var completed = await CountAsync(connectionString, "status = 'completed'");
        var failed = await CountAsync(connectionString, "status = 'failed'");
        var retriedJobs = await CountAsync(connectionString, "attempts > 1");
        var (_, duplicated, _) = await CompletionAudit.ReadAsync(connectionString);
        var urls = await TestTypes.ScalarAsync<string>(connectionString, "SELECT coalesce(string_agg(image_url, ' '), '') FROM queue_test_media WHERE status = 'completed'");
        var referenced = urls.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(u => Path.GetFullPath(new Uri(u).LocalPath)).ToHashSet(StringComparer.Ordinal);
        var stray = ResultFiles(images.Path).Where(f => !referenced.Contains(f)).ToList();
        var logs = first.Output + "\n" + second.Output;
        var backOffs = CountLines(logs, "backing off");
        var jobRetries = CountLines(logs, "retrying after");
        var reconnects = CountLines(logs, "cleared the connection pool") + CountLines(logs, "notification connection failed");
        output.WriteLine($"restart after {before} of {jobs} completed, took {restart.ElapsedMilliseconds} ms; {completed} completed, {failed} failed, {retriedJobs} jobs with attempts > 1, {jobRetries} job retries, {backOffs} worker-loop back-offs, {reconnects} reconnects logged, {duplicated} duplicated, {stray.Count} stray result files");
        Figures.Record(nameof(A_PostgreSQL_restart_under_load_shows_as_retries_and_every_job_still_completes), new Dictionary<string, object>
        {
            ["jobs_run"] = jobs, ["faults_injected"] = 1, ["fault"] = "pg_ctl restart -m fast under load", ["jobs_failed"] = failed,
            ["jobs_retried"] = retriedJobs, ["job_retries_logged"] = jobRetries, ["worker_loop_backoffs"] = backOffs, ["reconnects_logged"] = reconnects,
            ["jobs_lost"] = jobs - completed, ["results_duplicated"] = duplicated, ["stray_result_files"] = stray.Count, ["restart_ms"] = restart.ElapsedMilliseconds,
        });

        Assert.Equal(jobs, completed);
        Assert.Equal(0, failed);
        Assert.Equal(0, duplicated);
        Assert.True(retriedJobs + jobRetries + backOffs > 0, "the outage left no trace as a retry or back-off:\n" + logs);
        Assert.Equal(jobs, referenced.Count);
        Assert.Empty(stray);
    }

    // Migrates, adds the audit trigger (one row per transition to completed), and queues the jobs.
    internal static async Task PrepareAsync(string connectionString, int jobs)
    {
        await using var store = new PostgresMediaStore(Microsoft.Extensions.Options.Options.Create(new PostgresStoreOptions { ConnectionString = connectionString }));
        await store.MigrateAsync([QueueTestGenerator.Definition]);
        await CompletionAudit.InstallAsync(connectionString, QueueTestGenerator.Definition.TableName);
        var start = DateTimeOffset.UtcNow;
        await Parallel.ForEachAsync(Enumerable.Range(0, jobs), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
            await store.InsertAsync(new NewGenerationJob
            {
                Id = Guid.CreateVersion7(),
                Type = QueueTestGenerator.TypeName,
                UserId = "user-" + (i % 7).ToString(CultureInfo.InvariantCulture),
                Prompt = "job " + i.ToString(CultureInfo.InvariantCulture),
                CreatedAt = start.AddTicks(i * 10),
            }, ct));
    }

    /// <summary>Waits until at least <paramref name="target"/> jobs are completed (or a minute has passed, so a slow
    /// machine still gets its fault in mid-load); returns how many are.</summary>
    internal static async Task<long> WaitForCompletedAsync(string connectionString, long target)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        long completed;
        while ((completed = await CountAsync(connectionString, "status = 'completed'")) < target && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        return completed;
    }

    // A random one of the workers that have completed at least one job (waiting until one has, with a ceiling).
    private static async Task<int> WorkingVictimAsync(string connectionString, WorkerProcess[] workers, Random random)
    {
        var working = new List<int>();
        await Eventually.HoldsAsync(
            async () =>
            {
                working.Clear();
                for (var i = 0; i < workers.Length; i++)
                {
                    var pid = workers[i].Id.ToString(CultureInfo.InvariantCulture);
                    if (await TestTypes.ScalarAsync<long>(connectionString, "SELECT count(*) FROM queue_test_media WHERE status = 'completed' AND meta->>'worker_pid' = @p", ("p", pid)) > 0)
                    {
                        working.Add(i);
                    }
                }

                return working.Count > 0;
            },
            () => "no worker completed a job",
            StartTimeout);
        return working[random.Next(working.Count)];
    }

    // Every file under results/ (images and any temp file a write left), full paths.
    internal static List<string> ResultFiles(string root)
    {
        var results = Path.Combine(root, "results");
        return Directory.Exists(results) ? [.. Directory.GetFiles(results, "*", SearchOption.AllDirectories).Select(Path.GetFullPath)] : [];
    }

    internal static Task<long> CountAsync(string connectionString, string where) =>
        TestTypes.ScalarAsync<long>(connectionString, "SELECT count(*) FROM queue_test_media WHERE " + where);

    private static int CountLines(string text, string marker) =>
        text.Split('\n').Count(l => l.Contains(marker, StringComparison.Ordinal));
}

/// <summary>The process-heavy fault tests run one at a time: on 2 cores, two of them at once would measure the machine.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresFaults
{
    public const string Name = "postgres-faults";
}
