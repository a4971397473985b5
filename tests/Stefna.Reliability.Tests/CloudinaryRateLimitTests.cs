using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Stefna.Sdk;
using Stefna.Sdk.Testing.Fakes;
using Stefna.TestUtils;
using Xunit.Abstractions;

namespace Stefna.Reliability.Tests;

/// <summary>
/// Cloudinary answering 429 while the pipeline stores images: uploads wait for the reset and succeed. The resets differ
/// clearly from the client's 1 s default (used when no reset header is sent), and each wait is bounded above, so a
/// client ignoring the header, or waiting far too long, fails.
/// </summary>
public sealed class CloudinaryRateLimitTests(ITestOutputHelper output)
{
    // How much later than the reset the retry may arrive (scheduling, a loaded 2-core machine).
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(1.5);

    [Fact]
    public async Task Uploads_rate_limited_by_Cloudinary_wait_for_the_reset_and_the_job_completes()
    {
        var reset = TimeSpan.FromSeconds(2);
        await using var cloudinary = await CloudinaryEmulator.StartAsync("reliability", "key-7731", "secret-cl-4f0a9d");
        await using var host = StartHost(cloudinary);

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
        Assert.Equal(2, waits.Count);
        Assert.All(waits, w => Assert.InRange(w, reset - TimeSpan.FromMilliseconds(50), reset + Slack));
        Assert.StartsWith(cloudinary.BaseUrl.TrimEnd('/'), job.ImageUrl, StringComparison.Ordinal);
        Assert.Equal(2, cloudinary.Assets.Count);
        Assert.DoesNotContain(host.StoredFiles(), f => f.StartsWith("images", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_HTTP_date_reset_is_waited_for_until_that_moment()
    {
        await using var cloudinary = await CloudinaryEmulator.StartAsync("reliability", "key-7731", "secret-cl-4f0a9d");
        await using var host = StartHost(cloudinary);

        // Cloudinary's documented form: an HTTP date (whole seconds), here 3 s ahead, so the reset is 2-3 s away,
        // clearly more than the 1 s the client waits without a header.
        var resetAt = DateTimeOffset.UtcNow.AddSeconds(3);
        var header = resetAt.ToString("r", CultureInfo.InvariantCulture);
        var resetInstant = DateTimeOffset.ParseExact(header, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        cloudinary.RateLimitNext(1, reset: header);
        var job = await RunAsync(host);

        var uploads = cloudinary.Requests.Where(r => r.Operation == "upload").ToList();
        var waits = Waits(uploads);
        output.WriteLine($"reset {header}; " + string.Join(", ", uploads.Select(u => $"{u.StatusCode}@{u.ReceivedAt:HH:mm:ss.fff}")));
        var (lost, duplicated) = await RecordAsync(nameof(An_HTTP_date_reset_is_waited_for_until_that_moment), host, cloudinary, job, "Cloudinary 429 with X-RateLimit-Reset as an HTTP date", waits);

        Assert.Equal(GenerationStatus.Completed, job.Status);
        Assert.Equal((0, 0), (lost, duplicated));
        Assert.Equal(1, job.Attempts);
        var limited = Assert.Single(uploads, u => u.StatusCode == 429);
        var retry = uploads[uploads.IndexOf(limited) + 1];
        Assert.Equal(200, retry.StatusCode);
        Assert.True(resetInstant - limited.ReceivedAt > TimeSpan.FromSeconds(1.5), "the reset must lie clearly beyond the 1 s default wait");
        Assert.InRange(retry.ReceivedAt, resetInstant - TimeSpan.FromMilliseconds(50), resetInstant + Slack);
    }

    private static SdkHost StartHost(CloudinaryEmulator cloudinary) => SdkHost.Start(b => b.UseCloudinary(o =>
    {
        o.ApplyUrl(cloudinary.CloudinaryUrl);
        o.ApiBaseUrl = cloudinary.BaseUrl;
        o.DeliveryBaseUrl = cloudinary.BaseUrl;
    }));

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
        // Successful uploads of a result (public id {jobId}_result) beyond one per completed job.
        var resultUploads = cloudinary.Requests.Count(r => r.Operation == "upload" && r.StatusCode == 200
            && r.Fields.TryGetValue("public_id", out var id) && id.EndsWith("_result", StringComparison.Ordinal));
        Figures.Record(test, new Dictionary<string, object>
        {
            ["jobs_run"] = 1, ["faults_injected"] = cloudinary.Requests.Count(u => u.StatusCode == 429), ["fault"] = fault,
            ["waits_ms"] = waits.Select(w => Math.Round(w.TotalMilliseconds)).ToArray(),
            ["jobs_lost"] = 1 - completedRows,
            ["results_duplicated"] = Math.Max(0, resultUploads - completedRows),
        });
        return (1 - completedRows, Math.Max(0, resultUploads - completedRows));
    }
}
