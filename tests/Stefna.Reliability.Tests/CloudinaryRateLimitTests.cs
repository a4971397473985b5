using Microsoft.Extensions.DependencyInjection;
using Stefna.Sdk;
using Stefna.Sdk.Testing.Fakes;
using Stefna.TestUtils;
using Xunit.Abstractions;

namespace Stefna.Reliability.Tests;

/// <summary>Cloudinary answering 429 while the pipeline stores images: uploads wait for the reset and succeed.</summary>
public sealed class CloudinaryRateLimitTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Uploads_rate_limited_by_Cloudinary_wait_for_the_reset_and_the_job_completes()
    {
        await using var cloudinary = await CloudinaryEmulator.StartAsync("reliability", "key-7731", "secret-cl-4f0a9d");
        await using var host = SdkHost.Start(b => b.UseCloudinary(o =>
        {
            o.ApplyUrl(cloudinary.CloudinaryUrl);
            o.ApiBaseUrl = cloudinary.BaseUrl;
            o.DeliveryBaseUrl = cloudinary.BaseUrl;
        }));

        // The next three calls (the source upload at submit, then its retries) answer 429 with a 1 s reset.
        cloudinary.RateLimitNext(3, reset: "1");
        var job = await host.RunAsync(new GenerationRequest
        {
            Type = "neo-glitch",
            UserId = "user-cl",
            Image = ImageInput.FromBytes(TestImages.Png(48, 48, seed: 3), "me.png"),
        });

        var uploads = cloudinary.Requests.Where(r => r.Operation == "upload").ToList();
        output.WriteLine(string.Join(", ", uploads.Select(u => $"{u.StatusCode}@{u.ReceivedAt:HH:mm:ss.fff}")));
        Figures.Record(nameof(Uploads_rate_limited_by_Cloudinary_wait_for_the_reset_and_the_job_completes), new Dictionary<string, object>
        {
            ["jobs_run"] = 1, ["faults_injected"] = uploads.Count(u => u.StatusCode == 429), ["fault"] = "Cloudinary 429 with X-RateLimit-Reset: 1",
            ["jobs_lost"] = job.Status == GenerationStatus.Completed ? 0 : 1, ["results_duplicated"] = 0,
        });

        Assert.Equal(GenerationStatus.Completed, job.Status);
        Assert.Equal(1, job.Attempts);
        Assert.Equal(3, uploads.Count(u => u.StatusCode == 429));
        Assert.Equal(2, uploads.Count(u => u.StatusCode == 200));
        Assert.All(uploads.Where(u => u.StatusCode == 200), u => Assert.True(u.SignatureValid));
        var firstLimited = uploads.First(u => u.StatusCode == 429).ReceivedAt;
        var lastSuccess = uploads.Last(u => u.StatusCode == 200).ReceivedAt;
        Assert.True(lastSuccess - firstLimited >= TimeSpan.FromSeconds(2.5), "three 1 s resets were waited for");
        Assert.StartsWith(cloudinary.BaseUrl.TrimEnd('/'), job.ImageUrl, StringComparison.Ordinal);
        Assert.Equal(2, cloudinary.Assets.Count);
        Assert.DoesNotContain(host.StoredFiles(), f => f.StartsWith("images", StringComparison.Ordinal));
    }
}
