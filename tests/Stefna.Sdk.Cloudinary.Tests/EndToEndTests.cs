using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
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
