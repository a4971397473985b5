using Microsoft.Extensions.DependencyInjection;
using Stefna.Sdk.Assets;
using Stefna.Sdk.Imaging;
using Stefna.Sdk.Pipeline;
using Stefna.Sdk.Providers;
using Stefna.Sdk.Sqlite;
using Stefna.Sdk.Storage;
using Stefna.TestUtils;

namespace Stefna.Sdk.Tests;

/// <summary>
/// Issue 16: a job that ends without a result (failed for exhausting its attempts, or canceled) keeps none of the
/// results its earlier attempts stored before they were killed or cut off. On SQLite with local files; each test
/// plays the killed attempts by claiming the job with a lease that runs out at once and storing that attempt's result.
/// </summary>
public sealed class EndedJobResultSweepTests
{
    private const string TypeName = PromptOnlyTestGenerator.TypeName;

    [Fact]
    public async Task A_job_failed_for_exhausting_its_attempts_keeps_no_result_file_of_them()
    {
        using var dir = new TempDirectory();
        await using var provider = Build(dir, maxAttempts: 2);
        var ticket = await provider.GetRequiredService<IGenerationPipeline>().SubmitAsync(new GenerationRequest { Type = TypeName, UserId = "u1", Prompt = "killed twice" });

        await LoseAttemptsAsync(provider, ticket.Id, count: 2);
        Assert.Equal(2, ResultFiles(dir).Length);

        // The next claim finds the lease of the last allowed attempt expired: it fails the job, and the worker deletes
        // what both attempts stored.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await provider.GetRequiredService<GenerationWorker>().RunAsync(exitWhenIdle: true, timeout.Token);

        var job = await provider.GetRequiredService<IGenerationPipeline>().GetStatusAsync(TypeName, ticket.Id, "u1");
        Assert.Equal(GenerationStatus.Failed, job!.Status);
        Assert.Equal(GenerationError.LeaseExpiredCode, job.Error!.Code);
        Assert.Empty(ResultFiles(dir));
        Assert.Equal(0, NeverCalled.Calls);
    }

    [Fact]
    public async Task A_job_canceled_after_a_lost_attempt_keeps_no_result_file_of_it()
    {
        using var dir = new TempDirectory();
        await using var provider = Build(dir, maxAttempts: 3);
        var pipeline = provider.GetRequiredService<IGenerationPipeline>();
        var ticket = await pipeline.SubmitAsync(new GenerationRequest { Type = TypeName, UserId = "u1", Prompt = "killed, then canceled" });
        await LoseAttemptsAsync(provider, ticket.Id, count: 1);
        Assert.Single(ResultFiles(dir));

        var canceled = await pipeline.CancelAsync(TypeName, ticket.Id, "u1");

        Assert.Equal(GenerationStatus.Canceled, canceled!.Status);
        Assert.Empty(ResultFiles(dir));
    }

    private static ServiceProvider Build(TempDirectory dir, int maxAttempts)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStefna(o =>
            {
                o.MaxAttempts = maxAttempts;
                o.IdlePollInterval = TimeSpan.FromMilliseconds(50);
            })
            .AddGenerator<PromptOnlyTestGenerator>(TypeName)
            .UseSqlite(dir.File("stefna.db"))
            .UseLocalFileStorage(dir.File("images"))
            .UseProvider(_ => new NeverCalled());
        return services.BuildServiceProvider();
    }

    // Each lost attempt: a claim whose 1 ms lease the test waits out (by the clock, not by a margin), and the result that
    // attempt stored before it "died".
    private static async Task LoseAttemptsAsync(ServiceProvider provider, Guid jobId, int count)
    {
        var store = provider.GetRequiredService<SqliteMediaStore>();
        var assets = provider.GetRequiredService<IAssetStorage>();
        var image = TestImages.Png(seed: 3);
        for (var i = 1; i <= count; i++)
        {
            var lease = Assert.Single(await store.ClaimAsync(TypeName, 1, TimeSpan.FromMilliseconds(1), maxAttempts: 9, CancellationToken.None));
            Assert.Equal((jobId, i), (lease.Job.Id, lease.Attempt));
            await assets.SaveAsync(new AssetWriteRequest
            {
                Content = image, Info = ImageInspector.Inspect(image), Kind = AssetKind.Result, Type = TypeName,
                JobId = jobId, Attempt = lease.Attempt, UserId = "u1",
            }, CancellationToken.None);
            while (DateTimeOffset.UtcNow <= lease.Job.LeaseUntil!.Value.AddMilliseconds(1))
            {
                await Task.Delay(5);
            }
        }
    }

    private static string[] ResultFiles(TempDirectory dir) =>
        Directory.Exists(dir.File("images/results")) ? Directory.GetFiles(dir.File("images/results"), "*", SearchOption.AllDirectories) : [];

    private sealed class NeverCalled : IImageProvider
    {
        public static int Calls;

        public string Name => "never";

        public ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Calls);
            throw new InvalidOperationException("no attempt should run");
        }

        public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }
}
