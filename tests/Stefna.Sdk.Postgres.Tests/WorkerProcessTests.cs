using Npgsql;
using Stefna.Sdk.Postgres.WorkerHost;
using Stefna.TestUtils;

namespace Stefna.Sdk.Postgres.Tests;

/// <summary>The multi-host proofs: separate worker processes against one PostgreSQL database.</summary>
[Collection(WorkerProcesses.Name)]
public sealed class WorkerProcessTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Two_worker_processes_complete_2000_jobs_exactly_once_and_share_the_work()
    {
        const int jobs = 2000;
        var connectionString = await PostgresServer.CreateDatabaseAsync("stefna_two_workers");
        using var images = new TempDirectory();
        try
        {
            await PrepareAsync(connectionString, jobs);
            // 60 ms jobs: one host alone would need about 30 s for the 90 % that would starve the other, far beyond the skew
            // between two hosts let go at once (both composed and migrated first), however loaded the machine.
            string[] args = ["--conn", connectionString, "--images", images.Path, "--delay-ms", "60", "--concurrency", "4", "--wait-for-go"];
            var (first, second) = await WorkerProcess.RunTwoAsync(args, StartTimeout, TimeSpan.FromMinutes(3));
            using var disposeFirst = first;
            using var disposeSecond = second;
            await AssertEveryJobCompletedOnceAsync(connectionString, jobs);
            var byFirst = await TestTypes.ScalarAsync<long>(connectionString, "SELECT count(*) FROM queue_test_media WHERE meta->>'worker_pid' = @p", ("p", first.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            var bySecond = await TestTypes.ScalarAsync<long>(connectionString, "SELECT count(*) FROM queue_test_media WHERE meta->>'worker_pid' = @p", ("p", second.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.True(byFirst >= jobs / 10 && bySecond >= jobs / 10, $"work not shared: {byFirst} / {bySecond} (each process must complete at least 10 %)");
            Assert.Equal(jobs, byFirst + bySecond);
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(connectionString);
        }
    }

    [Fact]
    public async Task Jobs_of_a_worker_killed_mid_job_are_reclaimed_after_the_lease_and_completed_once_by_another()
    {
        const int jobs = 24;
        var connectionString = await PostgresServer.CreateDatabaseAsync("stefna_sigkill");
        using var images = new TempDirectory();
        try
        {
            await PrepareAsync(connectionString, jobs);
            // Both hosts hold their leases 30 s (renewed every 10 s): no lease runs out while a host lives, however
            // loaded the machine, so no job spends an attempt on a lost lease. The killed host's leases are run out
            // below instead of waited for.
            string[] args = ["--conn", connectionString, "--images", images.Path, "--delay-ms", "1000", "--lease-seconds", "30", "--concurrency", "4"];
            using var doomed = WorkerProcess.Start(args);
            await doomed.WaitReadyAsync(StartTimeout);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (await TestTypes.ScalarAsync<long>(connectionString, "SELECT count(*) FROM queue_test_media WHERE status = 'processing'") < 2 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            doomed.Kill();
            await doomed.WaitForExitAsync(TimeSpan.FromSeconds(30));
            var inFlight = await ReadIdsAsync(connectionString, "SELECT id FROM queue_test_media WHERE status = 'processing'");
            Assert.NotEmpty(inFlight);
            Assert.Equal((long)inFlight.Count, await ExpireLeasesAsync(connectionString));

            using var survivor = WorkerProcess.Start(args);
            var exit = await survivor.WaitForExitAsync(TimeSpan.FromMinutes(2));

            Assert.True(exit == 0, survivor.Output);
            await AssertEveryJobCompletedOnceAsync(connectionString, jobs);
            var survivorPid = survivor.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
            foreach (var id in inFlight)
            {
                Assert.Equal(survivorPid, await TestTypes.ScalarAsync<string>(connectionString, "SELECT meta->>'worker_pid' FROM queue_test_media WHERE id = @id", ("id", id)));
                Assert.True(await TestTypes.ScalarAsync<int>(connectionString, "SELECT attempts FROM queue_test_media WHERE id = @id", ("id", id)) >= 2);
            }
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(connectionString);
        }
    }

    [Fact]
    public async Task Parked_async_jobs_of_a_killed_host_are_completed_by_another_host_with_exactly_one_submit_each()
    {
        const int jobs = 40;
        var connectionString = await PostgresServer.CreateDatabaseAsync("stefna_parked_kill");
        await using var aiml = await Stefna.Sdk.Testing.Fakes.AimlApiEmulator.StartAsync();
        using var images = new TempDirectory();
        try
        {
            await PrepareAsync(connectionString, jobs);
            // The host's default 30 s lease (renewed every 10 s): the killed host never loses a lease while it submits,
            // so no job is claimed and submitted twice; its leases are run out after the kill instead of waited for.
            string[] args = ["--conn", connectionString, "--images", images.Path, "--concurrency", "8", "--async-base", aiml.BaseUrl.AbsoluteUri, "--async-key", aiml.ApiKey];
            using var doomed = WorkerProcess.Start(args);
            await doomed.WaitReadyAsync(StartTimeout);

            // Every job submitted and parked (fewer in-flight places than jobs), and the host busy re-checking them.
            const string parked = "SELECT count(*) FROM queue_test_media WHERE status = 'processing' AND provider_job_id IS NOT NULL AND lease_until IS NULL AND next_check_at IS NOT NULL";
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while ((await TestTypes.ScalarAsync<long>(connectionString, parked) < jobs || aiml.AsyncPolls < 2 * jobs) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            doomed.Kill();
            await doomed.WaitForExitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(jobs, aiml.AsyncSubmits);
            Assert.Equal(0L, await TestTypes.ScalarAsync<long>(connectionString, "SELECT count(*) FROM queue_test_media WHERE status <> 'processing' OR provider_job_id IS NULL"));
            await ExpireLeasesAsync(connectionString); // the parked jobs the host was checking when it died

            aiml.CompleteAsyncGenerations();
            using var survivor = WorkerProcess.Start(args);
            var exit = await survivor.WaitForExitAsync(TimeSpan.FromMinutes(2));

            Assert.True(exit == 0, survivor.Output);
            await AssertEveryJobCompletedOnceAsync(connectionString, jobs);

            // The survivor only polled: exactly one submit per job, ever.
            Assert.Equal(jobs, aiml.AsyncSubmits);
            var byJob = aiml.AsyncSubmitsByKey;
            Assert.Equal(jobs, byJob.Count);
            Assert.All(byJob.Values, n => Assert.Equal(1, n));
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(connectionString);
        }
    }

    [Fact]
    public async Task Two_host_processes_migrating_at_the_same_moment_make_one_schema_without_error()
    {
        var connectionString = await PostgresServer.CreateDatabaseAsync("stefna_migrate_race");
        try
        {
            string[] args = ["--conn", connectionString, "--migrate-only", "--wait-for-go"];
            using var first = WorkerProcess.Start(args);
            using var second = WorkerProcess.Start(args);
            await Task.WhenAll(first.WaitReadyAsync(StartTimeout), second.WaitReadyAsync(StartTimeout));
            first.Go();
            second.Go();
            var exits = await Task.WhenAll(first.WaitForExitAsync(TimeSpan.FromMinutes(1)), second.WaitForExitAsync(TimeSpan.FromMinutes(1)));

            Assert.True(exits.All(e => e == 0), $"{first.Output}\n{second.Output}");
            var applied = new[] { first.Output, second.Output }
                .Select(o => int.Parse(o.Split('\n').Single(l => l.StartsWith("MIGRATED ", StringComparison.Ordinal))[9..], System.Globalization.CultureInfo.InvariantCulture))
                .ToArray();
            Assert.Equal(5, applied.Sum()); // core v1, v2 (webhook outbox) and v3 (its prune index), the table's v1 and v2
            Assert.Contains(0, applied);
            Assert.Equal(5L, await TestTypes.ScalarAsync<long>(connectionString, "SELECT count(*) FROM stefna_schema_migrations"));
            Assert.Equal(1L, await TestTypes.ScalarAsync<long>(connectionString, "SELECT count(*) FROM pg_tables WHERE tablename = 'queue_test_media'"));
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(connectionString);
        }
    }

    // A killed host's leases run out: what its 30 s would do, at once. Returns how many rows' leases were run out.
    private static Task<long> ExpireLeasesAsync(string connectionString) => TestTypes.ScalarAsync<long>(connectionString, """
        WITH expired AS (
            UPDATE queue_test_media SET lease_until = now() - interval '1 second'
            WHERE status = 'processing' AND lease_until IS NOT NULL
            RETURNING 1)
        SELECT count(*) FROM expired
        """);

    // Every job completed, and each completed exactly once (the audit trigger logs every transition to completed).
    private static async Task AssertEveryJobCompletedOnceAsync(string connectionString, int jobs)
    {
        Assert.Equal((long)jobs, await TestTypes.ScalarAsync<long>(connectionString, "SELECT count(*) FROM queue_test_media WHERE status = 'completed'"));
        Assert.Equal((long)jobs, await TestTypes.ScalarAsync<long>(connectionString, "SELECT count(*) FROM completion_audit"));
        Assert.Equal((long)jobs, await TestTypes.ScalarAsync<long>(connectionString, "SELECT count(DISTINCT job_id) FROM completion_audit"));
    }

    // Migrates, adds the test-only audit trigger (one row per transition to completed), and queues the jobs.
    private static async Task PrepareAsync(string connectionString, int jobs)
    {
        await using (var store = new PostgresMediaStore(Microsoft.Extensions.Options.Options.Create(new PostgresStoreOptions { ConnectionString = connectionString })))
        {
            await store.MigrateAsync([QueueTestGenerator.Definition]);
            await TestTypes.ExecuteAsync(connectionString, """
                CREATE TABLE completion_audit (job_id uuid NOT NULL, worker_pid text, at timestamptz NOT NULL DEFAULT clock_timestamp());
                CREATE FUNCTION audit_completion() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    INSERT INTO completion_audit (job_id, worker_pid) VALUES (NEW.id, NEW.meta->>'worker_pid');
                    RETURN NEW;
                END $$;
                CREATE TRIGGER queue_test_audit AFTER UPDATE ON queue_test_media
                    FOR EACH ROW WHEN (NEW.status = 'completed') EXECUTE FUNCTION audit_completion();
                """);
            var start = DateTimeOffset.UtcNow;
            await Parallel.ForEachAsync(Enumerable.Range(0, jobs), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
                await store.InsertAsync(new NewGenerationJob
                {
                    Id = Guid.CreateVersion7(),
                    Type = QueueTestGenerator.TypeName,
                    UserId = "user-" + (i % 7),
                    Prompt = "job " + i,
                    CreatedAt = start.AddTicks(i * 10),
                }, ct));
        }
    }

    private static async Task<List<Guid>> ReadIdsAsync(string connectionString, string sql)
    {
        var ids = new List<Guid>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetGuid(0));
        }

        return ids;
    }
}
