using Microsoft.Extensions.DependencyInjection;
using Stefna.Sdk.Pipeline;
using Stefna.Sdk.Testing.Fakes;
using Stefna.TestUtils;

namespace Stefna.Sdk.Providers.AimlApi.Tests;

/// <summary>A host picks a built-in type's model in configuration: the type names none, the provider's per-type
/// options choose, and the model goes out in the request body.</summary>
public sealed class AimlApiModelSelectionTests
{
    [Fact]
    public async Task Per_type_model_options_reach_the_provider_for_built_in_types()
    {
        await using var emulator = await AimlApiEmulator.StartAsync();
        using var temp = new TempDirectory();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStefna()
            .AddEmotionMask()
            .AddCustomPrompt()
            .UseMediaStore(_ => new InMemoryMediaStore())
            .UseLocalFileStorage(temp.Path, publicBaseUrl: "https://cdn.example.test/media")
            .UseAimlApi(o => { o.ApiKey = emulator.ApiKey; o.BaseUrl = emulator.BaseUrl; })
            .UseAimlApi("emotion-mask", o => { o.ApiKey = emulator.ApiKey; o.BaseUrl = emulator.BaseUrl; o.ImageToImageModel = "flux/srpo/image-to-image"; })
            .UseAimlApi("custom-prompt", o => { o.ApiKey = emulator.ApiKey; o.BaseUrl = emulator.BaseUrl; o.Model = "flux-pro"; });
        await using var provider = services.BuildServiceProvider();
        using var stop = new CancellationTokenSource();
        var worker = provider.GetRequiredService<GenerationWorker>().RunAsync(exitWhenIdle: false, stop.Token);
        try
        {
            var pipeline = provider.GetRequiredService<IGenerationPipeline>();
            var emotion = await pipeline.SubmitAsync(new GenerationRequest
            {
                Type = "emotion-mask",
                UserId = "user-1",
                Image = ImageInput.FromBytes(TestImages.Png(64, 64, seed: 3)),
                Options = new Dictionary<string, string> { ["emotion"] = "joy" },
            });
            var text = await pipeline.SubmitAsync(new GenerationRequest { Type = "custom-prompt", UserId = "user-1", Prompt = "a lighthouse at dusk" });

            var emotionJob = await pipeline.WaitForCompletionAsync(emotion.Type, emotion.Id, "user-1", TimeSpan.FromSeconds(30));
            var textJob = await pipeline.WaitForCompletionAsync(text.Type, text.Id, "user-1", TimeSpan.FromSeconds(30));

            Assert.Equal(GenerationStatus.Completed, emotionJob.Status);
            Assert.Equal(GenerationStatus.Completed, textJob.Status);
            var models = emulator.Requests.Select(r => (string?)r.Json["model"]).Order().ToList();
            Assert.Equal(["flux-pro", "flux/srpo/image-to-image"], models);
            Assert.Equal("flux/srpo/image-to-image", emotionJob.Meta["model"]);
            Assert.Empty(emulator.SchemaErrors);
            Assert.Equal("flux-pro", textJob.Meta["model"]);
        }
        finally
        {
            await stop.CancelAsync();
            await worker;
        }
    }
}
