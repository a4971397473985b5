using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Cloudinary;
using Stefna.Sdk;
using Stefna.Sdk.Postgres.Tests;
using Stefna.Sdk.Testing.Fakes;
using Stefna.TestUtils;
using Xunit.Abstractions;

namespace Stefna.Reliability.Tests;

/// <summary>
/// Cloudinary answering 429 while the pipeline stores images: uploads wait for the reset and succeed. The Cloudinary
/// client and the emulator run on one <see cref="JumpingClock"/> (the rest of the host on the real clock): each wait
/// the client asks for is recorded and passes at once, and the emulator stamps requests with that clock, so the waits
/// and the retry instants are asserted exactly, with no wall-clock margin for a loaded machine to break. The resets
/// differ from the client's 1 s default (used when no reset header is sent), so a client ignoring the header, or
/// waiting any other time, fails.
/// </summary>
public sealed class CloudinaryRateLimitTests(ITestOutputHelper output)
{
    // A whole second, so an HTTP-date reset (whole seconds) lies exactly where the emulator puts it.
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Uploads_rate_limited_by_Cloudinary_wait_for_the_reset_and_the_job_completes()
    {
        var reset = TimeSpan.FromSeconds(2);
        var clock = new JumpingClock(Start);
        await using var cloudinary = await CloudinaryEmulator.StartAsync("reliability", "key-7731", "secret-cl-4f0a9d", clock);
        await using var host = StartHost(cloudinary, clock);

        // The next two calls (the source upload at submit, then its retry) answer 429 with a 2 s reset (seconds form).
        cloudinary.RateLimitNext(2, reset: "2");
        var job = await RunAsync(host);

        var uploads = cloudinary.Requests.Where(r => r.Operation == "upload").ToList();
        var waits = Waits(uploads);
        output.WriteLine(string.Join(", ", uploads.Select(u => $"{u.StatusCode}@{u.ReceivedAt:HH:mm:ss.fff}")) + "; waits " + string.Join(", ", waits.Select(w => $"{w.TotalMilliseconds:0} ms")));
        var (lost, duplicated) = await RecordAsync(nameof(Uploads_rate_limited_by_Cloudinary_wait_for_the_reset_and_the_job_completes), host, cloudinary, job, "Cloudinary 429 with X-RateLimit-Reset: 2 (seconds)", waits);

        Assert.Equal(GenerationStatus.Completed, job.Status);
        Assert.Equal((0, 0), (lost, duplicated));
        Assert.Equal(1, job.Attempts);
        Assert.Equal(2, uploads.Count(u => u.StatusCode == 429));
        Assert.Equal(2, uploads.Count(u => u.StatusCode == 200));
        Assert.All(uploads.Where(u => u.StatusCode == 200), u => Assert.True(u.SignatureValid));
        // The client asked to wait exactly the reset, twice, and each retry arrived exactly then.
        Assert.Equal([reset, reset], clock.Waits);
        Assert.Equal([reset, reset], waits);
        Assert.StartsWith(cloudinary.BaseUrl.TrimEnd('/'), job.ImageUrl, StringComparison.Ordinal);
        Assert.Equal(2, cloudinary.Assets.Count);
        Assert.DoesNotContain(host.StoredFiles(), f => f.StartsWith("images", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_HTTP_date_reset_is_waited_for_until_that_moment()
    {
        var clock = new JumpingClock(Start);
        await using var cloudinary = await CloudinaryEmulator.StartAsync("reliability", "key-7731", "secret-cl-4f0a9d", clock);
        await using var host = StartHost(cloudinary, clock);

        // Cloudinary's documented form: an HTTP date (whole seconds), which the emulator sets 3 s after the moment it
        // answers, on the shared clock: clearly more than the 1 s the client waits without a header.
        cloudinary.RateLimitNextUntil(1, TimeSpan.FromSeconds(3));
        var job = await RunAsync(host);

        var uploads = cloudinary.Requests.Where(r => r.Operation == "upload").ToList();
        var waits = Waits(uploads);
        var limited = Assert.Single(uploads, u => u.StatusCode == 429);
        output.WriteLine($"reset {limited.RateLimitReset}; " + string.Join(", ", uploads.Select(u => $"{u.StatusCode}@{u.ReceivedAt:HH:mm:ss.fff}")));
        var (lost, duplicated) = await RecordAsync(nameof(An_HTTP_date_reset_is_waited_for_until_that_moment), host, cloudinary, job, "Cloudinary 429 with X-RateLimit-Reset as an HTTP date", waits);

        Assert.Equal(GenerationStatus.Completed, job.Status);
        Assert.Equal((0, 0), (lost, duplicated));
        Assert.Equal(1, job.Attempts);
        var retry = uploads[uploads.IndexOf(limited) + 1];
        Assert.Equal(200, retry.StatusCode);
        var resetInstant = DateTimeOffset.ParseExact(limited.RateLimitReset!, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        Assert.Equal(TimeSpan.FromSeconds(3), resetInstant - limited.ReceivedAt); // clearly beyond the 1 s default wait
        Assert.Equal([TimeSpan.FromSeconds(3)], clock.Waits);
        Assert.Equal(resetInstant, retry.ReceivedAt);
    }

    // The SDK as an application composes it, with the Cloudinary client (only) on the test's clock.
    private static SdkHost StartHost(CloudinaryEmulator cloudinary, TimeProvider clock) => SdkHost.Start(b =>
    {
        b.UseCloudinary(o =>
        {
            o.ApplyUrl(cloudinary.CloudinaryUrl);
            o.ApiBaseUrl = cloudinary.BaseUrl;
            o.DeliveryBaseUrl = cloudinary.BaseUrl;
        });
        b.Services.Replace(ServiceDescriptor.Singleton(sp => new CloudinaryClient(
            sp.GetRequiredService<IHttpClientFactory>(),
            sp.GetRequiredService<IOptions<CloudinaryOptions>>(),
            clock,
            sp.GetRequiredService<ILogger<CloudinaryClient>>())));
    });

    private static Task<GenerationJob> RunAsync(SdkHost host) => host.RunAsync(new GenerationRequest
    {
        Type = "neo-glitch",
        UserId = "user-cl",
        Image = ImageInput.FromBytes(TestImages.Png(48, 48, seed: 3), "me.png"),
    });

    // The time between each 429 and the request that followed it.
    private static List<TimeSpan> Waits(List<CloudinaryEmulatorRequest> uploads) =>
        [.. uploads.Zip(uploads.Skip(1)).Where(p => p.First.StatusCode == 429).Select(p => p.Second.ReceivedAt - p.First.ReceivedAt)];

    private static async Task<(long Lost, long Duplicated)> RecordAsync(string test, SdkHost host, CloudinaryEmulator cloudinary, GenerationJob job, string fault, List<TimeSpan> waits)
    {
        var completedRows = await host.CountRowsAsync(GenerationStatus.Completed);
        // Successful uploads of a result (public id {jobId}_result_{attempt}) beyond one per completed job.
        var resultUploads = cloudinary.Requests.Count(r => r.Operation == "upload" && r.StatusCode == 200
            && ResultAudit.IsCloudinaryResult(r.Fields.GetValueOrDefault("public_id")));
        Figures.Record(test, new Dictionary<string, object>
        {
            ["jobs_run"] = 1, ["faults_injected"] = cloudinary.Requests.Count(u => u.StatusCode == 429), ["fault"] = fault,
            ["waits_ms"] = waits.Select(w => Math.Round(w.TotalMilliseconds)).ToArray(),
            ["jobs_lost"] = 1 - completedRows,
            ["results_duplicated"] = Math.Max(0, resultUploads - completedRows),
        });
        // Every completed job's result upload is seen, so a duplicate would be too (the count can't pass by matching nothing).
        Assert.True(resultUploads >= completedRows, $"{completedRows} completed job(s) but {resultUploads} result upload(s) recognised");
        return (1 - completedRows, Math.Max(0, resultUploads - completedRows));
    }
}

/// <summary>
/// Cloudinary answering 429 as issue 8 sets the faults: PostgreSQL, two worker processes (tests/Stefna.Sdk.Postgres.WorkerHost
/// with <c>--cloudinary</c>, storing every result through <c>UseCloudinary</c>), the Cloudinary emulator run by this
/// test on 127.0.0.1. The result uploads made by the worker processes meet two 429s with <c>X-RateLimit-Reset: 2</c>.
/// The worker processes run on the real clock, so the wait is proven without a wall-clock upper margin: each process
/// logs the wait its client chose (it must be exactly the 2 s reset), and the retry can only come after it (a wait never
/// ends early). The exact instants are proven on a shared fake clock by <see cref="CloudinaryRateLimitTests"/>.
/// </summary>
[Collection(PostgresFaults.Name)]
public sealed class CloudinaryRateLimitWorkerProcessTests(ITestOutputHelper output)
{
    [Fact]
    public async Task On_PostgreSQL_two_worker_processes_rate_limited_by_Cloudinary_wait_for_the_reset_and_every_job_completes_on_its_first_attempt()
    {
        const int jobs = 24;
        var reset = TimeSpan.FromSeconds(2);
        var connectionString = await PostgresServer.CreateDatabaseAsync("stefna_rel_cl429");
        var workers = new List<WorkerProcess>();
        try
        {
            await using var cloudinary = await CloudinaryEmulator.StartAsync("reliability", "key-7731", "secret-cl-4f0a9d");
            Assert.True(System.Net.IPAddress.IsLoopback(System.Net.IPAddress.Parse(new Uri(cloudinary.BaseUrl).Host)), $"the emulator must listen on loopback: {cloudinary.BaseUrl}");
            await WorkerFaultTests.PrepareAsync(connectionString, jobs);

            // 3 s jobs, two at a time: one process alone would need 33 s to claim the last job, far beyond the skew
            // between two processes let go at once (both composed and migrated first), so each takes a share.
            string[] names = ["stefna-worker-a", "stefna-worker-b"];
            workers.AddRange(names.Select(n => WorkerProcess.Start(
                "--conn", connectionString + ";Application Name=" + n, "--delay-ms", "3000", "--concurrency", "2",
                "--cloudinary", cloudinary.CloudinaryUrl, "--cloudinary-api-base", cloudinary.BaseUrl, "--wait-for-go")));
            await Task.WhenAll(workers.Select(w => w.WaitReadyAsync(TimeSpan.FromSeconds(60))));
            Assert.Empty(cloudinary.Requests);

            // The next two API calls (result uploads from either process) answer 429 with a 2 s reset (seconds form).
            cloudinary.RateLimitNext(2, reset: "2");
            workers.ForEach(w => w.Go());
            var exits = await Task.WhenAll(workers.Select(w => w.WaitForExitAsync(TimeSpan.FromMinutes(2))));
            Assert.True(exits.All(e => e == 0), string.Join("\n", workers.Select(w => w.Output)));

            var uploads = cloudinary.Requests.Where(r => r.Operation == "upload").ToList();
            var limited = uploads.Where(u => u.StatusCode == 429).ToList();
            // Each 429 and the next upload of the same public id (the client's retry after the reset).
            var retries = limited.Select(l => (Limited: l, Next: uploads.FirstOrDefault(u => u.ReceivedAt > l.ReceivedAt && u.Fields.GetValueOrDefault("public_id") == l.Fields.GetValueOrDefault("public_id")))).ToList();
            var waits = retries.Where(r => r.Next is not null).Select(r => r.Next!.ReceivedAt - r.Limited.ReceivedAt).ToList();
            var limitedIds = limited.Select(l => l.Fields.GetValueOrDefault("public_id") ?? "").Distinct().ToList();

            var completedFirstAttempt = await CountAsync(connectionString, "status = 'completed' AND attempts = 1");
            var completed = await CountAsync(connectionString, "status = 'completed'");
            var onCloudinary = await TestTypes.ScalarAsync<long>(connectionString, "SELECT count(*) FROM queue_test_media WHERE status = 'completed' AND starts_with(image_url, @base)", ("base", cloudinary.BaseUrl.TrimEnd('/') + "/"));
            var completedIds = await TestTypes.ScalarAsync<Guid[]>(connectionString, "SELECT coalesce(array_agg(id), '{}') FROM queue_test_media WHERE status = 'completed'");
            var resultUploads = uploads.Where(u => u.StatusCode == 200 && ResultAudit.IsCloudinaryResult(u.Fields.GetValueOrDefault("public_id"))).Select(u => u.Fields["public_id"]).ToList();
            var (lost, duplicatedUploads) = ResultAudit.Audit(jobs, completedIds, resultUploads);
            var (audited, duplicatedCompletions, perWorker) = await CompletionAudit.ReadAsync(connectionString, names);

            output.WriteLine($"{jobs} jobs on two worker processes ({string.Join(" + ", perWorker)} completions); {uploads.Count} uploads, {limited.Count} answered 429; waits {string.Join(", ", waits.Select(w => $"{w.TotalMilliseconds:0} ms"))}; {completedFirstAttempt} completed on the first attempt");
            Figures.Record(nameof(On_PostgreSQL_two_worker_processes_rate_limited_by_Cloudinary_wait_for_the_reset_and_every_job_completes_on_its_first_attempt), new Dictionary<string, object>
            {
                ["jobs_run"] = jobs, ["faults_injected"] = limited.Count, ["fault"] = "Cloudinary 429 with X-RateLimit-Reset: 2 (seconds), two worker processes on PostgreSQL",
                ["waits_ms"] = waits.Select(w => Math.Round(w.TotalMilliseconds)).ToArray(), ["worker_processes"] = names.Length,
                ["completions_per_process"] = perWorker.ToArray(), ["jobs_lost"] = lost, ["results_duplicated"] = duplicatedUploads + duplicatedCompletions,
            });

            Assert.Equal(2, limited.Count);
            Assert.All(limitedIds, id => Assert.True(ResultAudit.IsCloudinaryResult(id), $"{id} is not a result upload"));
            Assert.All(retries, r => Assert.NotNull(r.Next));
            Assert.Equal(2, waits.Count);
            // The retry never came before the reset (the emulator stamps ms; the 50 ms covers its clock's granularity only).
            Assert.All(waits, w => Assert.True(w >= reset - TimeSpan.FromMilliseconds(50), $"a retry came {w.TotalMilliseconds:0} ms after its 429, before the 2 s reset"));
            // And the clients chose to wait exactly the reset, no more: their warnings say so.
            var chosen = workers.SelectMany(w => w.Output.Split('\n')).Where(l => l.Contains("rate limited (429); waiting", StringComparison.Ordinal)).ToList();
            Assert.Equal(2, chosen.Count);
            Assert.All(chosen, l => Assert.Contains("waiting 00:00:02 for the reset", l, StringComparison.Ordinal));
            // Every rate-limited upload succeeded in the end, with a valid signature.
            Assert.All(limitedIds, id => Assert.Contains(uploads, u => u.StatusCode == 200 && u.SignatureValid && u.Fields.GetValueOrDefault("public_id") == id));
            Assert.All(uploads.Where(u => u.StatusCode == 200), u => Assert.True(u.SignatureValid));
            Assert.Equal(jobs, completed);
            Assert.Equal(jobs, completedFirstAttempt);
            Assert.Equal(jobs, onCloudinary);
            Assert.All(perWorker, c => Assert.True(c > 0, $"one worker process completed no job: {string.Join(", ", perWorker)}"));
            Assert.Equal(jobs, audited);
            Assert.Equal(0, lost);
            Assert.Equal(0, duplicatedUploads);
            Assert.Equal(0, duplicatedCompletions);
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

    private static Task<long> CountAsync(string connectionString, string where) =>
        TestTypes.ScalarAsync<long>(connectionString, "SELECT count(*) FROM queue_test_media WHERE " + where);
}
