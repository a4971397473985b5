using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Images;
using Stefna.Sdk.Providers;
using Stefna.Sdk.Testing.Fakes;
using Stefna.TestUtils;

namespace Stefna.Sdk.Extensions.AI.Tests;

/// <summary>OpenAI's image models through Microsoft.Extensions.AI.OpenAI and our adapter, against the kit's loopback
/// OpenAI Images API, which checks each request against the API reference.</summary>
public sealed class OpenAIThroughImageGeneratorTests : IAsyncLifetime
{
    private OpenAIImagesEmulator _openai = null!;

    public async Task InitializeAsync() => _openai = await OpenAIImagesEmulator.StartAsync();

    public async Task DisposeAsync() => await _openai.DisposeAsync();

    private ImageGeneratorProvider Provider(string model, ImageGenerationResponseFormat? format = null) =>
        new(new ImageClient(model, new ApiKeyCredential(_openai.ApiKey), new OpenAIClientOptions
        {
            Endpoint = _openai.BaseUrl,
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0), // the type's resilience pipeline retries, not the client
        }).AsIImageGenerator(), new ImageGeneratorProviderOptions { ResponseFormat = format });

    private static ProviderRequest Request(bool withSource = false) => new()
    {
        JobId = Guid.NewGuid(),
        Type = "custom-prompt",
        Prompt = "a paper boat on a puddle",
        SourceImage = withSource ? GeneratorTestKit.SourceImage() : null,
    };

    [Fact]
    public async Task Gpt_image_text_to_image_posts_json_to_generations_and_reads_b64_json()
    {
        var response = await Provider("gpt-image-1").SubmitAsync(Request(), CancellationToken.None);

        var received = Assert.Single(_openai.Requests);
        Assert.Empty(_openai.SchemaErrors);
        Assert.Equal("/v1/images/generations", received.Path);
        Assert.StartsWith("application/json", received.ContentType, StringComparison.Ordinal);
        Assert.Equal("Bearer " + _openai.ApiKey, received.Authorization);
        Assert.Equal("gpt-image-1", received.Fields["model"]);
        Assert.Equal("a paper boat on a puddle", received.Fields["prompt"]);
        Assert.False(received.Fields.ContainsKey("response_format")); // GPT image models refuse it
        var image = Assert.IsType<ProviderResponse.Completed>(response).Image;
        Assert.Equal(_openai.Image, image.Bytes!.Value.ToArray());
        Assert.Equal("openai", image.Meta["provider"]);
        Assert.Equal("gpt-image-1", image.Meta["model"]);
    }

    [Fact]
    public async Task Image_to_image_posts_the_source_as_a_multipart_edit()
    {
        var request = Request(withSource: true);

        var response = await Provider("gpt-image-1").SubmitAsync(request, CancellationToken.None);

        var received = Assert.Single(_openai.Requests);
        Assert.Empty(_openai.SchemaErrors);
        Assert.Equal("/v1/images/edits", received.Path);
        Assert.StartsWith("multipart/form-data", received.ContentType, StringComparison.Ordinal);
        Assert.Equal("gpt-image-1", received.Fields["model"]);
        var (_, bytes) = Assert.Single(received.Images);
        Assert.Equal(request.SourceImage!.Bytes.ToArray(), bytes);
        Assert.Equal(_openai.Image, Assert.IsType<ProviderResponse.Completed>(response).Image.Bytes!.Value.ToArray());
    }

    [Fact]
    public async Task A_url_answer_becomes_the_image_url()
    {
        var response = await Provider("dall-e-3", ImageGenerationResponseFormat.Uri).SubmitAsync(Request(), CancellationToken.None);

        var received = Assert.Single(_openai.Requests);
        Assert.Equal("url", received.Fields["response_format"]);
        var image = Assert.IsType<ProviderResponse.Completed>(response).Image;
        Assert.Null(image.Bytes);
        Assert.StartsWith(new Uri(_openai.BaseUrl, "/files/").AbsoluteUri, image.Url!.AbsoluteUri, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Content_policy_refusal_is_content_rejected()
    {
        _openai.Enqueue(OpenAIScriptedReply.ContentPolicy());

        var error = await Assert.ThrowsAsync<GenerationException>(async () => await Provider("gpt-image-1").SubmitAsync(Request(), CancellationToken.None));

        Assert.Equal(GenerationErrorCategory.ContentRejected, error.Category);
        Assert.Contains("safety system", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rate_limit_carries_the_retry_after_header()
    {
        _openai.Enqueue(OpenAIScriptedReply.RateLimited(retryAfterSeconds: 7));

        var error = await Assert.ThrowsAsync<ProviderRetryAfterException>(async () => await Provider("gpt-image-1").SubmitAsync(Request(), CancellationToken.None));

        Assert.Equal(TimeSpan.FromSeconds(7), error.RetryAfter);
        Assert.Equal(GenerationErrorCategory.ProviderUnavailable, error.Category);
    }

    [Fact]
    public async Task A_wrong_key_is_an_invalid_request_naming_401()
    {
        var provider = Provider("gpt-image-1");
        _openai.ApiKey = "sk-rotated";

        var error = await Assert.ThrowsAsync<GenerationException>(async () => await provider.SubmitAsync(Request(), CancellationToken.None));

        Assert.Equal(GenerationErrorCategory.InvalidRequest, error.Category);
        Assert.Equal("invalid_request.unauthorized", error.Code);
        Assert.Equal(401, Assert.Single(_openai.Requests).Status);
    }

    [Fact]
    public async Task A_size_the_model_does_not_support_is_refused_by_the_emulator_as_the_api_does()
    {
        var provider = new ImageGeneratorProvider(new ImageClient("gpt-image-1", new ApiKeyCredential(_openai.ApiKey), new OpenAIClientOptions { Endpoint = _openai.BaseUrl, RetryPolicy = new ClientRetryPolicy(0) }).AsIImageGenerator());

        var error = await Assert.ThrowsAsync<GenerationException>(async () => await provider.SubmitAsync(Request() with { ImageSize = "512x512" }, CancellationToken.None));

        Assert.Equal(GenerationErrorCategory.InvalidRequest, error.Category);
        Assert.Contains("size", Assert.Single(_openai.SchemaErrors), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_error_is_provider_unavailable()
    {
        _openai.Enqueue(OpenAIScriptedReply.Error(500, "The server had an error while processing your request.", "server_error"));

        var error = await Assert.ThrowsAsync<GenerationException>(async () => await Provider("gpt-image-1").SubmitAsync(Request(), CancellationToken.None));

        Assert.Equal(GenerationErrorCategory.ProviderUnavailable, error.Category);
        Assert.Equal("provider_unavailable.http_500", error.Code);
    }
}
