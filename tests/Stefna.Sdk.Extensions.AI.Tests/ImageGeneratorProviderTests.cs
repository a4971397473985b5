using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Stefna.Sdk.Imaging;
using Stefna.Sdk.Providers;
using Stefna.Sdk.Testing;
using Stefna.TestUtils;

namespace Stefna.Sdk.Extensions.AI.Tests;

/// <summary>Any IImageGenerator as a provider: requests mapped to M.E.AI and answers mapped back, errors classified.</summary>
public sealed class ImageGeneratorProviderTests
{
    private static ProviderRequest Request(ImageContent? source = null, string? model = null, long? seed = null, string? size = null) => new()
    {
        JobId = Guid.NewGuid(),
        Type = "custom-prompt",
        Prompt = "a lighthouse at dusk",
        SourceImage = source,
        Model = model,
        Seed = seed,
        ImageSize = size,
        Strength = source is null ? null : 0.6,
        Parameters = new Dictionary<string, string> { ["style"] = "noir" },
    };

    [Fact]
    public async Task Text_to_image_sends_the_prompt_without_original_images_and_returns_the_generated_bytes()
    {
        var png = TestImages.Png(32, 32, seed: 3);
        var generator = new RecordingImageGenerator((_, _) => RecordingImageGenerator.Png(png));
        var provider = new ImageGeneratorProvider(generator, new ImageGeneratorProviderOptions { ModelId = "gpt-image-1" });

        var response = await provider.SubmitAsync(Request(seed: 11, size: "1024x1536"), CancellationToken.None);

        var (request, options) = Assert.Single(generator.Calls);
        Assert.Equal("a lighthouse at dusk", request.Prompt);
        Assert.Null(request.OriginalImages);
        Assert.Equal("gpt-image-1", options!.ModelId);
        Assert.Equal(1, options.Count);
        Assert.Equal(new System.Drawing.Size(1024, 1536), options.ImageSize);
        Assert.Equal(11L, options.AdditionalProperties!["seed"]);
        Assert.Equal("noir", options.AdditionalProperties["style"]);
        var image = Assert.IsType<ProviderResponse.Completed>(response).Image;
        Assert.Equal(png, image.Bytes!.Value.ToArray());
        Assert.Equal("recording", image.Meta["provider"]);
        Assert.Equal("gpt-image-1", image.Meta["model"]);
        Assert.Equal("recording", provider.Name);
    }

    [Fact]
    public async Task Image_to_image_sends_the_source_as_DataContent_and_the_request_model_wins()
    {
        var source = GeneratorTestKit.SourceImage();
        var generator = new RecordingImageGenerator((_, _) => new ImageGenerationResponse([new UriContent(new Uri("https://cdn.example.test/out.png"), "image/png")]));
        var provider = new ImageGeneratorProvider(generator, new ImageGeneratorProviderOptions { ModelId = "default-model", Name = "edits" });

        var response = await provider.SubmitAsync(Request(source, model: "preset-model", size: "square_hd"), CancellationToken.None);

        var (request, options) = Assert.Single(generator.Calls);
        var original = Assert.IsType<DataContent>(Assert.Single(request.OriginalImages!));
        Assert.Equal("image/png", original.MediaType);
        Assert.Equal(source.Bytes.ToArray(), original.Data.ToArray());
        Assert.Equal("preset-model", options!.ModelId);
        Assert.Null(options.ImageSize); // a size name is AIML API vocabulary, not passed on
        Assert.Equal(0.6, options.AdditionalProperties!["strength"]);
        var image = Assert.IsType<ProviderResponse.Completed>(response).Image;
        Assert.Equal(new Uri("https://cdn.example.test/out.png"), image.Url);
        Assert.Equal("edits", image.Meta["provider"]);
        Assert.Equal("preset-model", image.Meta["model"]);
    }

    [Fact]
    public async Task An_answer_without_an_image_is_a_provider_error()
    {
        var generator = new RecordingImageGenerator((_, _) => new ImageGenerationResponse([new TextContent("no")]));
        var provider = new ImageGeneratorProvider(generator);

        var error = await Assert.ThrowsAsync<GenerationException>(async () => await provider.SubmitAsync(Request(), CancellationToken.None));

        Assert.Equal(GenerationErrorCategory.ProviderError, error.Category);
        Assert.Equal("provider_error.no_image", error.Code);
    }

    [Theory]
    [InlineData(400, GenerationErrorCategory.InvalidRequest, "invalid_request.provider_rejected")]
    [InlineData(401, GenerationErrorCategory.InvalidRequest, "invalid_request.unauthorized")]
    [InlineData(503, GenerationErrorCategory.ProviderUnavailable, "provider_unavailable.http_503")]
    [InlineData(429, GenerationErrorCategory.ProviderUnavailable, "provider_unavailable.rate_limited")]
    public async Task Http_failures_of_any_generator_map_to_categories(int status, GenerationErrorCategory category, string code)
    {
        var generator = new RecordingImageGenerator((_, _) => throw new HttpRequestException("failed", null, (System.Net.HttpStatusCode)status));
        var provider = new ImageGeneratorProvider(generator);

        var error = await Assert.ThrowsAnyAsync<GenerationException>(async () => await provider.SubmitAsync(Request(), CancellationToken.None));

        Assert.Equal(category, error.Category);
        Assert.Equal(code, error.Code);
    }

    [Fact]
    public async Task A_custom_mapping_classifies_first()
    {
        var generator = new RecordingImageGenerator((_, _) => throw new InvalidOperationException("blocked by local filter"));
        var provider = new ImageGeneratorProvider(generator, new ImageGeneratorProviderOptions
        {
            MapException = ex => ex.Message.Contains("filter", StringComparison.Ordinal) ? new GenerationException(GenerationErrorCategory.ContentRejected, ex.Message, "content_rejected.local") : null,
        });

        var error = await Assert.ThrowsAsync<GenerationException>(async () => await provider.SubmitAsync(Request(), CancellationToken.None));

        Assert.Equal(GenerationErrorCategory.ContentRejected, error.Category);
        Assert.Equal("content_rejected.local", error.Code);
    }

    [Fact]
    public async Task A_type_completes_through_a_generator_registered_for_it()
    {
        var png = TestImages.Png(40, 30, seed: 9);
        var generator = new RecordingImageGenerator((_, _) => RecordingImageGenerator.Png(png));
        await using var host = EmbeddedDefaultHost.Create(stefna => stefna.AddCustomPrompt().UseImageGenerator("custom-prompt", _ => generator, o => o.ModelId = "m-1"));

        var ticket = await host.Pipeline.SubmitAsync(new GenerationRequest { Type = "custom-prompt", UserId = "u1", Prompt = "a red fox in snow" }, CancellationToken.None);
        await host.RunUntilIdleAsync(CancellationToken.None);
        var job = await host.Pipeline.GetStatusAsync("custom-prompt", ticket.Id, "u1", CancellationToken.None);

        Assert.Equal(GenerationStatus.Completed, job!.Status);
        Assert.Equal("recording", job.Meta["provider"]);
        Assert.Equal("m-1", job.Meta["model"]);
        Assert.Contains("a red fox in snow", Assert.Single(generator.Calls).Request.Prompt, StringComparison.Ordinal);
    }
}
