using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Storage;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Pipeline;
using Stefna.Sdk.Providers;
using Stefna.Sdk.Testing.Fakes;
using Stefna.TestUtils;

namespace Stefna.Sdk.Cloudinary.Tests;

public class EndToEndTests
{
    [Fact]
    public async Task A_job_runs_through_the_pipeline_and_worker_with_its_images_in_cloudinary()
    {
        await using var emulator = await CloudinaryEmulator.StartAsync("demo", "key", "secret");
        var fakeProvider = new FakeProvider();
        var store = new InMemoryMediaStore(TimeProvider.System);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStefna(o => o.IdlePollInterval = TimeSpan.FromMilliseconds(50))
            .AddGenerator<CloudTestGenerator>(CloudTestGenerator.TypeName)
            .UseMediaStore(_ => store)
            .UseProvider(_ => fakeProvider)
            .UseCloudinary("cloudinary://key:secret@demo", apiBaseUrl: emulator.BaseUrl);
        await using var provider = services.BuildServiceProvider();
        var pipeline = provider.GetRequiredService<IGenerationPipeline>();
        var source = TestImages.Png(80, 60, seed: 4);

        var ticket = await pipeline.SubmitAsync(new GenerationRequest
        {
            Type = CloudTestGenerator.TypeName,
            UserId = "alice",
            Image = ImageInput.FromBytes(source),
            Tags = ["e2e"],
        });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await provider.GetRequiredService<GenerationWorker>().RunAsync(exitWhenIdle: true, timeout.Token);

        var job = await pipeline.GetStatusAsync(CloudTestGenerator.TypeName, ticket.Id, "alice");
        Assert.NotNull(job);
        Assert.Equal(GenerationStatus.Completed, job.Status);

        var resultId = $"stefna/cloud-test/results/{ticket.Id:N}_result_1"; // the first (only) attempt
        var sourceId = $"stefna/cloud-test/sources/{ticket.Id:N}_source";
        Assert.Equal(resultId, job.Meta["asset_id"]);
        Assert.Equal($"{emulator.BaseUrl}/demo/image/upload/v{emulator.Assets[resultId].Version}/{resultId}.png", job.ImageUrl);
        Assert.Equal($"{emulator.BaseUrl}/demo/image/upload/v{emulator.Assets[sourceId].Version}/{sourceId}.png", job.SourceImageUrl);
        Assert.Equal(TestImages.Png(seed: 2), emulator.Assets[resultId].Bytes);

        // The worker read the source back through its delivery URL and handed the same bytes to the provider.
        Assert.Equal(source, fakeProvider.SourceSeen);
        Assert.Contains(emulator.Requests, r => r.Operation == "download" && r.StatusCode == 200);
        var uploads = emulator.Requests.Where(r => r.Operation == "upload").ToList();
        Assert.Equal(2, uploads.Count);
        Assert.All(uploads, u => Assert.True(u.SignatureValid));
        Assert.Equal("cloud-test,e2e", uploads[1].Fields["tags"]);
    }

    /// <summary>Issue 16: two attempts that stored their result in Cloudinary and then lost their lease (a killed worker,
    /// as the SIGKILL proof does it: the upload happened, the completion never did) leave no asset once a third attempt
    /// completes the job: the completing attempt destroys the earlier attempts' results. Before, both stayed.</summary>
    [Fact]
    public async Task Results_uploaded_by_attempts_that_lost_their_lease_are_destroyed_when_a_later_attempt_completes_the_job()
    {
        await using var emulator = await CloudinaryEmulator.StartAsync("demo", "key", "secret");
        var store = new InMemoryMediaStore(TimeProvider.System);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStefna(o => o.IdlePollInterval = TimeSpan.FromMilliseconds(50))
            .AddGenerator<CloudTestGenerator>(CloudTestGenerator.TypeName)
            .UseMediaStore(_ => store)
            .UseProvider(_ => new FakeProvider())
            .UseCloudinary("cloudinary://key:secret@demo", apiBaseUrl: emulator.BaseUrl);
        await using var provider = services.BuildServiceProvider();
        var pipeline = provider.GetRequiredService<IGenerationPipeline>();
        var assets = provider.GetRequiredService<Stefna.Sdk.Assets.IAssetStorage>();
        var ticket = await pipeline.SubmitAsync(new GenerationRequest { Type = CloudTestGenerator.TypeName, UserId = "alice", Image = ImageInput.FromBytes(TestImages.Png(40, 30, seed: 4)) });

        // Two lost attempts: each claims the job with a lease that has already run out and uploads its result.
        var result = TestImages.Png(seed: 2);
        for (var lost = 1; lost <= 2; lost++)
        {
            var lease = Assert.Single(await store.ClaimAsync(CloudTestGenerator.TypeName, 1, TimeSpan.Zero, maxAttempts: 3, CancellationToken.None));
            Assert.Equal(lost, lease.Attempt);
            await assets.SaveAsync(new Stefna.Sdk.Assets.AssetWriteRequest
            {
                Content = result, Info = Stefna.Sdk.Imaging.ImageInspector.Inspect(result), Kind = Stefna.Sdk.Assets.AssetKind.Result,
                Type = CloudTestGenerator.TypeName, JobId = ticket.Id, Attempt = lease.Attempt, UserId = "alice",
            }, CancellationToken.None);
        }

        Assert.Equal(3, emulator.Assets.Count); // the source and the two lost results
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await provider.GetRequiredService<GenerationWorker>().RunAsync(exitWhenIdle: true, timeout.Token);

        var job = await pipeline.GetStatusAsync(CloudTestGenerator.TypeName, ticket.Id, "alice");
        Assert.Equal(GenerationStatus.Completed, job!.Status);
        Assert.Equal(3, job.Attempts);
        // What is left is what the row references: its source and the third attempt's result, no stray asset.
        Assert.Equal(
            new[] { $"stefna/cloud-test/results/{ticket.Id:N}_result_3", $"stefna/cloud-test/sources/{ticket.Id:N}_source" },
            emulator.Assets.Keys.Order(StringComparer.Ordinal).ToArray());
        Assert.Equal(2, emulator.DestroyedCount);
        Assert.Equal(2, emulator.DestroyCallCount);
    }

    private sealed class CloudTestGenerator(IOptions<StefnaOptions> options) : GeneratorBase(TypeDefinition, options)
    {
        public const string TypeName = "cloud-test";

        private static readonly GenerationTypeDefinition TypeDefinition = new(TypeName, "cloud_test_media", "Cloud test");

        protected override ValueTask<GenerationSpec> PrepareCoreAsync(GenerationRequest request, string? prompt, CancellationToken cancellationToken) =>
            ValueTask.FromResult(new GenerationSpec { Prompt = prompt });

        public override ProviderRequest CreateProviderRequest(GenerationJob job, ImageContent? sourceImage) => new()
        {
            JobId = job.Id,
            Type = job.Type,
            Prompt = "test",
            SourceImage = sourceImage,
        };
    }

    private sealed class FakeProvider : IImageProvider
    {
        public byte[]? SourceSeen { get; private set; }

        public string Name => "fake";

        public ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken)
        {
            SourceSeen = request.SourceImage?.Bytes.ToArray();
            return ValueTask.FromResult<ProviderResponse>(new ProviderResponse.Completed(new ProviderImage { Bytes = TestImages.Png(seed: 2) }));
        }

        public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }
}
