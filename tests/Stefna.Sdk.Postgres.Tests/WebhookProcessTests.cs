using Stefna.Sdk.Postgres.WorkerHost;
using Stefna.Sdk.Testing.Fakes;
using Stefna.Sdk.Webhooks;
using Stefna.TestUtils;

namespace Stefna.Sdk.Postgres.Tests;

/// <summary>Webhook delivery across worker processes on one PostgreSQL database: the outbox row is committed with the
/// completion, so a host that dies before delivering leaves the event to another; many hosts deliver every event, each
/// signed, retried with the same webhook-id when the receiver answers 500.</summary>
[Collection(WorkerProcesses.Name)]
public sealed class WebhookProcessTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly string Secret = WebhookSignature.NewSecret();

    [Fact]
    public async Task A_worker_killed_after_completing_a_job_but_before_delivering_leaves_the_event_to_another_process()
    {
        var connectionString = await PostgresServer.CreateDatabaseAsync("stefna_hook_kill");
        using var images = new TempDirectory();
        await using var receiver = await WebhookReceiver.StartAsync([Secret]);
        try
        {
            await EnqueueAsync(connectionString, images.Path, 1, receiver.Url);
            string[] args = ["--conn", connectionString, "--images", images.Path, "--webhook-secret", Secret];

            // The doomed host claims the message under a 2 s lease (written in its outbox row: when the survivor may
            // take it). The survivor keeps the host's long lease, so its own request's timeout (30 s) is far beyond
            // a loopback POST on a loaded machine: one delivery, never a timed-out one sent again.
            using (var doomed = WorkerProcess.Start(new Dictionary<string, string> { ["STEFNA_FAULT_KILL_BEFORE_WEBHOOK"] = "1" }, [.. args, "--webhook-lease-seconds", "2"]))
            {
                var exit = await doomed.WaitForExitAsync(TimeSpan.FromMinutes(2));
                Assert.True(exit != 0 && doomed.Output.Contains("DYING", StringComparison.Ordinal), $"exit {exit}\n{doomed.Output}");
            }

            // Completed and its message committed with it, claimed once by the dead host, never sent.
            Assert.Equal(1L, await TestTypes.ScalarAsync<long>(connectionString, "SELECT count(*) FROM queue_test_media WHERE status = 'completed'"));
            Assert.Equal(1L, await TestTypes.ScalarAsync<long>(connectionString, "SELECT count(*) FROM stefna_webhook_outbox WHERE state = 'pending' AND attempts = 1 AND lease_until IS NOT NULL"));
            Assert.Empty(receiver.Deliveries);

            using var survivor = WorkerProcess.Start(args);
            var code = await survivor.WaitForExitAsync(TimeSpan.FromMinutes(2));
            Assert.True(code == 0, $"exit {code}\n{survivor.Output}");

            var delivery = Assert.Single(receiver.Deliveries);
            Assert.True(delivery.Verified, delivery.Problem);
            Assert.Equal(200, delivery.Answer);
            Assert.Equal(WebhookEventTypes.Completed, delivery.EventType);
            Assert.Equal(await TestTypes.ScalarAsync<Guid>(connectionString, "SELECT id FROM queue_test_media"), delivery.JobId);
            Assert.Equal(delivery.Id, await TestTypes.ScalarAsync<string>(connectionString, "SELECT id FROM stefna_webhook_outbox WHERE state = 'delivered' AND attempts = 2"));
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(connectionString);
        }
    }

    [Fact]
    public async Task Two_worker_processes_deliver_every_event_of_500_jobs_signed_and_duplicate_only_the_retried_ones()
    {
        const int jobs = 500;
        var connectionString = await PostgresServer.CreateDatabaseAsync("stefna_hook_500");
        using var images = new TempDirectory();
        await using var receiver = await WebhookReceiver.StartAsync([Secret]);
        receiver.FailFirstAttempts = 1; // every message's first attempt is answered 500: each must come again, once
        try
        {
            await EnqueueAsync(connectionString, images.Path, jobs, receiver.Url);
            // The host's default webhook lease (60 s, request timeout 30 s): no host dies here, so no lease needs to
            // run out, and no slow 200 is cut off and sent again.
            string[] args = ["--conn", connectionString, "--images", images.Path, "--delay-ms", "5", "--concurrency", "8", "--wait-for-go", "--webhook-secret", Secret];
            var (first, second) = await WorkerProcess.RunTwoAsync(args, StartTimeout, TimeSpan.FromMinutes(4));
            using var disposeFirst = first;
            using var disposeSecond = second;

            var deliveries = receiver.Deliveries;
            Assert.All(deliveries, d => Assert.True(d.Verified, d.Problem));
            var byMessage = deliveries.GroupBy(d => d.Id!).ToList();
            var outbox = await TestTypes.ScalarAsync<string>(connectionString, "SELECT string_agg(state || ':' || attempts || ':' || n, ', ') FROM (SELECT state, attempts, count(*) AS n FROM stefna_webhook_outbox GROUP BY 1, 2) s");
            Assert.True(byMessage.Count == jobs, $"{byMessage.Count} messages received in {deliveries.Count} requests; outbox {outbox}\n{first.Output}\n{second.Output}");
            Assert.Equal(jobs, deliveries.Select(d => d.JobId).Distinct().Count());
            Assert.All(deliveries, d => Assert.Equal(WebhookEventTypes.Completed, d.EventType));

            // Exactly the retry that was due: one 500, then one 200, same id; no other duplicate.
            Assert.All(byMessage, g => Assert.Equal([500, 200], g.Select(d => d.Answer)));
            Assert.Equal(jobs, await TestTypes.ScalarAsync<long>(connectionString, "SELECT count(*) FROM stefna_webhook_outbox WHERE state = 'delivered' AND attempts = 2"));
            Assert.Equal(jobs, await TestTypes.ScalarAsync<long>(connectionString, "SELECT count(*) FROM queue_test_media WHERE status = 'completed'"));
            Console.WriteLine($"webhooks.500jobs: {deliveries.Count} requests, {byMessage.Count} messages, all verified; {first.Output.Split('\n').LastOrDefault(l => l.StartsWith("DELIVERED", StringComparison.Ordinal))} / {second.Output.Split('\n').LastOrDefault(l => l.StartsWith("DELIVERED", StringComparison.Ordinal))}");
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(connectionString);
        }
    }

    // Queues jobs with the receiver as their callback URL, through the worker host's own --enqueue (which migrates).
    private static async Task EnqueueAsync(string connectionString, string images, int jobs, Uri hook)
    {
        using var enqueue = WorkerProcess.Start("--conn", connectionString, "--images", images, "--enqueue", jobs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--webhook-url", hook.AbsoluteUri);
        var code = await enqueue.WaitForExitAsync(TimeSpan.FromMinutes(2));
        Assert.True(code == 0 && enqueue.Output.Contains($"ENQUEUED {jobs}", StringComparison.Ordinal), enqueue.Output);
        _ = QueueTestGenerator.TypeName;
    }
}
