using Microsoft.Extensions.DependencyInjection;
using Stefna.Sdk.Assets;
using Stefna.Sdk.Pipeline;
using Stefna.Sdk.Testing.Fakes;
using Stefna.TestUtils;

namespace Stefna.Sdk.Providers.AimlApi.Tests;

/// <summary>The AIML provider behind the real pipeline and worker.</summary>
public sealed class AimlApiPipelineTests
{
    [Fact]
    public async Task An_image_to_image_job_completes_through_the_pipeline_with_the_emulators_image()
    {
        await using var emulator = await AimlApiEmulator.StartAsync();
        using var temp = new TempDirectory();
        var store = new InMemoryMediaStore();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStefna(o => o.RetryBackoff = TimeSpan.FromMilliseconds(10))
            .AddGenerator<PromptTestGenerator>(PromptTestGenerator.TypeName)
            .UseMediaStore(_ => store)
            .UseLocalFileStorage(temp.Path, publicBaseUrl: "https://cdn.example.test/media") // the API fetches sources by URL
            .UseAimlApi(o =>
            {
                o.ApiKey = emulator.ApiKey;
                o.BaseUrl = emulator.BaseUrl;
                o.RetryDelay = TimeSpan.FromMilliseconds(20);
            });
        await using var provider = services.BuildServiceProvider();
        using var stop = new CancellationTokenSource();
        var worker = provider.GetRequiredService<GenerationWorker>().RunAsync(exitWhenIdle: false, stop.Token);
        try
        {
            emulator.Enqueue(AimlScriptedReply.Error(500, "warming up"));
            var pipeline = provider.GetRequiredService<IGenerationPipeline>();
            var source = TestImages.Png(40, 30, seed: 5);
            var ticket = await pipeline.SubmitAsync(new GenerationRequest
            {
                Type = PromptTestGenerator.TypeName,
                UserId = "user-1",
                Prompt = "a watercolour fox",
                Image = ImageInput.FromBytes(source),
            });
            var job = await pipeline.WaitForCompletionAsync(ticket.Type, ticket.Id, "user-1", TimeSpan.FromSeconds(30));

            Assert.Equal(GenerationStatus.Completed, job.Status);
            Assert.Equal("aimlapi", job.Meta["provider"]);
            Assert.Equal("flux/dev/image-to-image", job.Meta["model"]);
            var stored = await provider.GetRequiredService<IAssetStorage>().ReadAsync(job.ImageUrl!, CancellationToken.None);
            Assert.Equal(emulator.Image, stored.ToArray());
            Assert.Equal(1, emulator.ImageDownloads);

            // The source went as the storage's public URL (the documented form); 500 then success.
            Assert.Equal([500, 200], emulator.Requests.Select(r => r.Status));
            var body = emulator.Requests[1].Json;
            Assert.Equal(job.SourceImageUrl, (string?)body["image_url"]);
            Assert.StartsWith("https://cdn.example.test/media/", job.SourceImageUrl, StringComparison.Ordinal);
            Assert.False(body.ContainsKey("image_size"));
            Assert.Equal(0.55, (double?)body["strength"]);
            Assert.Empty(emulator.SchemaErrors);
        }
        finally
        {
            await stop.CancelAsync();
            await worker;
        }
    }

    [Fact]
    public async Task A_content_policy_refusal_fails_the_job_as_content_rejected_after_one_call()
    {
        await using var emulator = await AimlApiEmulator.StartAsync();
        using var temp = new TempDirectory();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStefna()
            .AddGenerator<PromptTestGenerator>(PromptTestGenerator.TypeName)
            .UseMediaStore(_ => new InMemoryMediaStore())
            .UseLocalFileStorage(temp.Path)
            .UseAimlApi(o =>
            {
                o.ApiKey = emulator.ApiKey;
                o.BaseUrl = emulator.BaseUrl;
            });
        await using var provider = services.BuildServiceProvider();
        using var stop = new CancellationTokenSource();
        var worker = provider.GetRequiredService<GenerationWorker>().RunAsync(exitWhenIdle: false, stop.Token);
        try
        {
            emulator.Enqueue(AimlScriptedReply.Error(400, "Request rejected by the safety system.", "content_policy_violation"));
            var pipeline = provider.GetRequiredService<IGenerationPipeline>();
            var ticket = await pipeline.SubmitAsync(new GenerationRequest { Type = PromptTestGenerator.TypeName, UserId = "u", Prompt = "something unsafe" });
            var job = await pipeline.WaitForCompletionAsync(ticket.Type, ticket.Id, "u", TimeSpan.FromSeconds(30));
            Assert.Equal(GenerationStatus.Failed, job.Status);
            Assert.Equal(GenerationErrorCategory.ContentRejected, job.Error!.Category);
            Assert.Equal(1, job.Attempts);
            Assert.Single(emulator.Requests);
        }
        finally
        {
            await stop.CancelAsync();
            await worker;
        }
    }
}
