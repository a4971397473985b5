using System.Diagnostics;
using Npgsql;
using Stefna.Sdk.Postgres.Tests;
using Stefna.Sdk.Postgres.WorkerHost;
using Stefna.TestUtils;
using Xunit.Abstractions;

namespace Stefna.Reliability.Tests;

/// <summary>
/// Issue 16: a user who outgrows one database server stays up on PostgreSQL's own replication. A primary and a
/// streaming standby (pg_basebackup) on 127.0.0.1, two worker processes on one multi-host connection string with
/// <c>Target Session Attributes=read-write</c>; mid-load the primary stops and the standby is promoted. Every job
/// completes exactly once (an audit trigger counts completions), none is lost, and the time the workers took to resume
/// is measured from the completions the new primary recorded.
/// </summary>
[Collection(PostgresFaults.Name)]
public sealed class FailoverTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Workers_on_a_multi_host_connection_string_survive_a_primary_failover_and_complete_every_job_once()
    {
        const int jobs = 800;
        var clock = Stopwatch.StartNew();
        await using var primary = await DedicatedPostgres.StartAsync();
        var primaryConnection = await primary.CreateDatabaseAsync("stefna_rel_failover");
        await WorkerFaultTests.PrepareAsync(primaryConnection, jobs);
        await using var standby = await primary.StartStandbyAsync();
        using var images = new TempDirectory();
        var promotedConnection = new NpgsqlConnectionStringBuilder(standby.ConnectionString) { Database = "stefna_rel_failover" }.ConnectionString;

        // What an application gives Npgsql: both servers, writes only to the one that accepts them. Host states are
        // cached for Host Recheck Seconds (default 10): 1 here, so the promoted standby is tried again soon.
        string Connection(string app) =>
            $"Host=127.0.0.1:{primary.Port},127.0.0.1:{standby.Port};Username=postgres;Database=stefna_rel_failover;Target Session Attributes=read-write;Host Recheck Seconds=1;Timeout=5;Application Name={app}";
        // Short leases, so jobs in flight at the failover are re-claimed soon; attempts enough (10) that the failover and
        // a loaded machine's late renewals can never use them up: what this proves is no job lost or duplicated.
        string[] Args(string app) => ["--conn", Connection(app), "--images", images.Path, "--delay-ms", "40", "--lease-seconds", "3", "--max-attempts", "10", "--concurrency", "4", "--wait-for-go"];
        using var first = WorkerProcess.Start(Args("failover-1"));
        using var second = WorkerProcess.Start(Args("failover-2"));
        await Task.WhenAll(first.WaitReadyAsync(TimeSpan.FromSeconds(60)), second.WaitReadyAsync(TimeSpan.FromSeconds(60)));
        first.Go();
        second.Go();

        // Fail over once a good part of the work is done and plenty remains: stop the primary (a fast shutdown sends
        // the standby every WAL record first), then promote the standby.
        var before = await WorkerFaultTests.WaitForCompletedAsync(primaryConnection, jobs / 4);

        var stoppedAt = DateTime.UtcNow;
        var failover = Stopwatch.StartNew();
        await primary.StopAsync();
        var stopMs = failover.ElapsedMilliseconds;
        await standby.PromoteAsync();
        var promoteMs = failover.ElapsedMilliseconds;
        NpgsqlConnection.ClearAllPools();

        var exits = await Task.WhenAll(first.WaitForExitAsync(TimeSpan.FromMinutes(2)), second.WaitForExitAsync(TimeSpan.FromMinutes(2)));
        Assert.True(exits.All(e => e == 0), $"{first.Output}\n{second.Output}");

        var completed = await WorkerFaultTests.CountAsync(promotedConnection, "status = 'completed'");
        var failed = await WorkerFaultTests.CountAsync(promotedConnection, "status = 'failed'");
        var retried = await WorkerFaultTests.CountAsync(promotedConnection, "attempts > 1");
        var (audited, duplicated, perWorker) = await CompletionAudit.ReadAsync(promotedConnection, "failover-1", "failover-2");
        var afterFailover = await TestTypes.ScalarAsync<long>(promotedConnection, "SELECT count(*) FROM completion_audit WHERE server_port = @port", ("port", standby.Port));
        // Resume: from the moment the primary began to stop to each worker's first completion on the promoted standby.
        var resume = new double[2];
        for (var i = 0; i < 2; i++)
        {
            // -1: the worker completed nothing after the failover (the other one took the rest).
            resume[i] = await TestTypes.ScalarAsync<double>(promotedConnection, "SELECT coalesce(extract(epoch FROM min(at) - @stopped)::float8, -1) FROM completion_audit WHERE server_port = @port AND app = @app", ("stopped", stoppedAt), ("port", standby.Port), ("app", $"failover-{i + 1}"));
        }

        var firstResume = resume.Where(r => r >= 0).DefaultIfEmpty(-1).Min();
        output.WriteLine($"failover after {before} of {jobs} completed: stop {stopMs} ms, promote done at {promoteMs} ms; {completed} completed ({afterFailover} on the promoted standby), {failed} failed, {retried} re-claimed, {audited} completions audited ({perWorker[0]} + {perWorker[1]} by worker), {duplicated} duplicated; workers' first completion on the promoted standby {resume[0]:0.00} s and {resume[1]:0.00} s after the primary began to stop; {clock.Elapsed.TotalSeconds:0.0} s in all");
        Figures.Record(nameof(Workers_on_a_multi_host_connection_string_survive_a_primary_failover_and_complete_every_job_once), new Dictionary<string, object>
        {
            ["jobs_run"] = jobs, ["faults_injected"] = 1, ["fault"] = "primary stopped (pg_ctl stop -m fast), streaming standby promoted",
            ["jobs_completed_before_failover"] = before, ["jobs_completed_after_failover"] = afterFailover, ["jobs_lost"] = jobs - completed,
            ["jobs_failed"] = failed, ["jobs_reclaimed"] = retried, ["results_duplicated"] = duplicated, ["stop_ms"] = stopMs, ["promote_done_ms"] = promoteMs,
            ["resume_seconds_first_worker"] = Math.Round(firstResume, 2), ["resume_seconds_worker_1"] = Math.Round(resume[0], 2), ["resume_seconds_worker_2"] = Math.Round(resume[1], 2),
            ["test_seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1),
        });

        Assert.True(before < jobs, "every job completed before the failover; it proved nothing");
        Assert.True(afterFailover > 0, "no job completed on the promoted standby; the failover proved nothing");
        Assert.Equal(jobs, completed);
        Assert.Equal(0, failed);
        Assert.Equal(jobs, audited);
        Assert.Equal(0, duplicated);
    }
}
