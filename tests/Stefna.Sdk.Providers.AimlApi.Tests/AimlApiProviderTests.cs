using System.Diagnostics;
using System.Text.Json.Nodes;
using Stefna.Sdk.Providers;
using Stefna.Sdk.Testing.Fakes;
using Stefna.TestUtils;

namespace Stefna.Sdk.Providers.AimlApi.Tests;

public sealed class AimlApiProviderTests
{
    [Fact]
    public async Task Text_to_image_sends_the_documented_body_with_bearer_key_and_returns_the_served_url()
    {
        await using var h = await AimlHarness.StartAsync(o => o.Model = "flux/schnell");
        var image = await h.GenerateAsync();

        var sent = Assert.Single(h.Emulator.Requests);
        Assert.Equal("Bearer " + h.Emulator.ApiKey, sent.Authorization);
        Assert.StartsWith("application/json", sent.ContentType, StringComparison.Ordinal);
        var body = sent.Json;
        Assert.Equal("flux/schnell", (string?)body["model"]);
        Assert.Equal("a lighthouse at dusk, oil painting", (string?)body["prompt"]);
        Assert.Equal("square_hd", (string?)body["image_size"]);
        Assert.Equal(1, (int?)body["num_images"]);
        Assert.Equal(1234, (long?)body["seed"]);
        Assert.False(body.ContainsKey("image_url"));
        Assert.False(body.ContainsKey("strength"));
        Assert.Empty(h.Emulator.SchemaErrors);

        Assert.Null(image.Bytes);
        Assert.NotNull(image.Url);
        Assert.Equal(h.Emulator.BaseUrl.Authority, image.Url!.Authority);
        using var http = new HttpClient();
        Assert.Equal(h.Emulator.Image, await http.GetByteArrayAsync(image.Url));
        Assert.Equal("flux/schnell", image.Meta["model"]);
        Assert.Equal("1234", image.Meta["seed"]);
    }

    [Fact]
    public async Task Image_to_image_with_a_public_source_url_sends_that_url_and_strength_with_the_image_model()
    {
        await using var h = await AimlHarness.StartAsync(o => o.ImageToImageModel = "flux/dev/image-to-image");
        var request = AimlHarness.TextRequest() with { SourceImageUrl = "https://cdn.example.org/u/1/source.png", SourceImage = Images.Content(TestImages.Png()), Strength = 0.6 };
        await h.GenerateAsync(request);

        var body = Assert.Single(h.Emulator.Requests).Json;
        Assert.Equal("flux/dev/image-to-image", (string?)body["model"]);
        Assert.Equal("https://cdn.example.org/u/1/source.png", (string?)body["image_url"]);
        Assert.Equal(0.6, (double?)body["strength"]);
        Assert.Empty(h.Emulator.SchemaErrors);
    }

    [Fact]
    public async Task Image_to_image_without_a_public_url_fails_as_invalid_request_and_sends_nothing()
    {
        await using var h = await AimlHarness.StartAsync();
        var request = AimlHarness.TextRequest() with { SourceImageUrl = "file:///tmp/stefna/source.png", SourceImage = Images.Content(TestImages.Png(32, 32, seed: 3)) };

        var error = await h.FailAsync(request);

        Assert.Equal(GenerationErrorCategory.InvalidRequest, error.Category);
        Assert.Equal("invalid_request.source_url_required", error.Code);
        Assert.Contains("public http(s) URL", error.Message, StringComparison.Ordinal);
        Assert.Empty(h.Emulator.Requests); // no data: URL fallback: the model documents only URLs
    }

    [Fact]
    public async Task The_image_to_image_body_has_no_image_size_and_a_seed_of_at_least_one()
    {
        await using var h = await AimlHarness.StartAsync();
        var request = AimlHarness.TextRequest(seed: 0) with { SourceImageUrl = "https://cdn.example.org/s.png", SourceImage = Images.Content(TestImages.Png()), ImageSize = "square_hd" };
        await h.GenerateAsync(request);

        var body = Assert.Single(h.Emulator.Requests).Json;
        Assert.False(body.ContainsKey("image_size")); // flux/dev/image-to-image: the output follows the reference image
        Assert.Equal(1, (long?)body["seed"]);
        Assert.Empty(h.Emulator.SchemaErrors);
    }

    [Theory]
    [InlineData(0L, 1L)]
    [InlineData(-5L, long.MaxValue - 4)]
    [InlineData(42L, 42L)]
    public async Task A_text_to_image_seed_is_sent_within_the_documented_range(long seed, long sent)
    {
        await using var h = await AimlHarness.StartAsync();
        await h.GenerateAsync(AimlHarness.TextRequest(seed));
        Assert.Equal(sent, (long?)Assert.Single(h.Emulator.Requests).Json["seed"]);
        Assert.Empty(h.Emulator.SchemaErrors);
    }

    [Fact]
    public async Task An_openai_family_model_gets_its_own_body()
    {
        await using var h = await AimlHarness.StartAsync(o => o.Model = "dall-e-3");
        await h.GenerateAsync(AimlHarness.TextRequest() with { ImageSize = "1792x1024" });

        var body = Assert.Single(h.Emulator.Requests).Json;
        Assert.Equal(["model", "prompt", "n", "size"], body.Select(p => p.Key));
        Assert.Equal("1792x1024", (string?)body["size"]);
        Assert.Empty(h.Emulator.SchemaErrors);
    }

    [Fact]
    public async Task A_text_only_model_refuses_a_source_image()
    {
        await using var h = await AimlHarness.StartAsync(o => o.ImageToImageModel = "flux/schnell");
        var error = await h.FailAsync(AimlHarness.TextRequest() with { SourceImageUrl = "https://cdn.example.org/s.png" });
        Assert.Equal("invalid_request.model_takes_no_image", error.Code);
        Assert.Empty(h.Emulator.Requests);
    }

    [Fact]
    public async Task A_request_model_overrides_the_default_and_a_missing_seed_is_omitted()
    {
        await using var h = await AimlHarness.StartAsync();
        await h.GenerateAsync(AimlHarness.TextRequest(seed: null) with { Model = "stable-diffusion-v35-large", ImageSize = "landscape_16_9" });
        var body = Assert.Single(h.Emulator.Requests).Json;
        Assert.Equal("stable-diffusion-v35-large", (string?)body["model"]);
        Assert.Equal("landscape_16_9", (string?)body["image_size"]);
        Assert.False(body.ContainsKey("seed"));
    }

    [Fact]
    public async Task A_b64_json_answer_returns_the_image_bytes()
    {
        await using var h = await AimlHarness.StartAsync();
        h.Emulator.Format = AimlImageFormat.DataB64Json;
        var image = await h.GenerateAsync();
        Assert.Null(image.Url);
        Assert.Equal(h.Emulator.Image, image.Bytes!.Value.ToArray());
    }

    [Fact]
    public async Task An_images_array_answer_returns_the_image_url()
    {
        await using var h = await AimlHarness.StartAsync();
        h.Emulator.Format = AimlImageFormat.ImagesArray;
        var image = await h.GenerateAsync();
        Assert.NotNull(image.Url);
        Assert.Contains("/files/", image.Url!.AbsolutePath, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_400_is_an_invalid_request_carrying_the_providers_message_and_is_not_retried()
    {
        await using var h = await AimlHarness.StartAsync();
        h.Emulator.Enqueue(AimlScriptedReply.Error(400, "Prompt exceeds the 1000 character limit of this model."));
        var error = await h.FailAsync();
        Assert.Equal(GenerationErrorCategory.InvalidRequest, error.Category);
        Assert.Equal("invalid_request.provider_rejected", error.Code);
        Assert.Contains("Prompt exceeds the 1000 character limit", error.Message, StringComparison.Ordinal);
        Assert.Single(h.Emulator.Requests);
    }

    [Fact]
    public async Task A_422_with_a_detail_list_is_an_invalid_request_carrying_the_details()
    {
        await using var h = await AimlHarness.StartAsync();
        h.Emulator.Enqueue(new AimlScriptedReply(422, """{"detail":[{"loc":["body","image_size"],"msg":"size not supported by this model","type":"value_error"}]}"""));
        var error = await h.FailAsync();
        Assert.Equal(GenerationErrorCategory.InvalidRequest, error.Category);
        Assert.Contains("size not supported by this model", error.Message, StringComparison.Ordinal);
        Assert.Single(h.Emulator.Requests);
    }

    [Fact]
    public async Task A_plain_message_error_body_is_read_too()
    {
        await using var h = await AimlHarness.StartAsync();
        h.Emulator.Enqueue(new AimlScriptedReply(400, """{"message":"strength must be below 1 for this model"}"""));
        var error = await h.FailAsync();
        Assert.Equal(GenerationErrorCategory.InvalidRequest, error.Category);
        Assert.Contains("strength must be below 1", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<int, string> PolicyRefusals() => new()
    {
        { 400, """{"error":{"message":"Your request was rejected as a result of our safety system.","type":"invalid_request_error","code":"content_policy_violation"}}""" },
        { 422, """{"error":{"message":"Image flagged by moderation.","code":"moderation_blocked"}}""" },
        { 403, """{"message":"This prompt violates the content policy."}""" },
        { 451, """{"error":{"message":"Unavailable for legal reasons."}}""" },
        { 200, """{"images":[],"has_nsfw_concepts":[true]}""" },
    };

    [Theory]
    [MemberData(nameof(PolicyRefusals))]
    public async Task A_content_policy_refusal_is_content_rejected_and_never_retried(int status, string body)
    {
        await using var h = await AimlHarness.StartAsync();
        h.Emulator.Enqueue(new AimlScriptedReply(status, body));
        var error = await h.FailAsync();
        Assert.Equal(GenerationErrorCategory.ContentRejected, error.Category);
        Assert.Equal("content_rejected.policy", error.Code);
        Assert.Single(h.Emulator.Requests);
    }

    [Fact]
    public async Task A_401_refreshes_the_key_once_and_the_retry_succeeds()
    {
        await using var h = await AimlHarness.StartAsync();
        h.Emulator.Enqueue(AimlScriptedReply.Error(401, "Token expired.", "invalid_api_key"));
        await h.GenerateAsync();

        Assert.Equal([401, 200], h.Emulator.Requests.Select(r => r.Status));
        Assert.All(h.Emulator.Requests, r => Assert.Equal("Bearer " + h.Emulator.ApiKey, r.Authorization));
        Assert.Equal(h.Emulator.Requests[0].Body, h.Emulator.Requests[1].Body);
        Assert.Equal(2, h.TokenCache.RefreshCount); // the first read plus exactly one refresh
    }

    [Fact]
    public async Task A_second_401_fails_as_an_unauthorized_invalid_request_after_exactly_one_refresh()
    {
        await using var h = await AimlHarness.StartAsync();
        h.Emulator.Enqueue(AimlScriptedReply.Error(401, "Invalid key."), AimlScriptedReply.Error(401, "Invalid key."));
        var error = await h.FailAsync();
        Assert.Equal(GenerationErrorCategory.InvalidRequest, error.Category);
        Assert.Equal("invalid_request.unauthorized", error.Code);
        Assert.Contains("rejected the API key", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, h.Emulator.Requests.Count);
        Assert.Equal(2, h.TokenCache.RefreshCount);
    }

    [Fact]
    public async Task A_wrong_key_is_rejected_by_the_service_and_reported_without_the_key()
    {
        await using var h = await AimlHarness.StartAsync(o => o.ApiKey = "not-the-right-key-123");
        var error = await h.FailAsync();
        Assert.Equal("invalid_request.unauthorized", error.Code);
        Assert.Equal(2, h.Emulator.Requests.Count);
        Assert.DoesNotContain("not-the-right-key-123", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_429_with_retry_after_is_waited_out_then_succeeds()
    {
        await using var h = await AimlHarness.StartAsync();
        h.Emulator.Enqueue(new AimlScriptedReply(429, """{"error":{"message":"Rate limit exceeded"}}""", RetryAfter: 1));
        await h.GenerateAsync();

        var requests = h.Emulator.Requests;
        Assert.Equal([429, 200], requests.Select(r => r.Status));

        // The configured retry delay is 20 ms; only the Retry-After header explains a wait of about a second.
        var gap = requests[1].ReceivedAt - requests[0].ReceivedAt;
        Assert.True(gap >= TimeSpan.FromMilliseconds(900), $"The retry came after {gap.TotalMilliseconds:0} ms, before the 1 s Retry-After.");
    }

    [Fact]
    public async Task Persistent_429s_end_as_a_retry_after_hint_for_the_types_pipeline()
    {
        await using var h = await AimlHarness.StartAsync(o => o.MaxRetryAttempts = 1);
        h.Emulator.Enqueue(new AimlScriptedReply(429, "{}", RetryAfter: 1), new AimlScriptedReply(429, "{}", RetryAfter: 1));
        var error = await h.FailAsync();
        var hint = Assert.IsType<ProviderRetryAfterException>(error);
        Assert.Equal(TimeSpan.FromSeconds(1), hint.RetryAfter);
        Assert.Equal(GenerationErrorCategory.ProviderUnavailable, hint.Category);
        Assert.Equal(2, h.Emulator.Requests.Count);
    }

    [Fact]
    public async Task Two_500s_are_retried_and_the_third_attempt_succeeds()
    {
        await using var h = await AimlHarness.StartAsync(o => o.MaxRetryAttempts = 2);
        h.Emulator.Enqueue(AimlScriptedReply.Error(500, "Internal error"), AimlScriptedReply.Error(500, "Internal error"));
        var image = await h.GenerateAsync();
        Assert.NotNull(image.Url);
        Assert.Equal([500, 500, 200], h.Emulator.Requests.Select(r => r.Status));
    }

    [Fact]
    public async Task A_persistent_503_is_provider_unavailable_after_the_retries()
    {
        await using var h = await AimlHarness.StartAsync(o => o.MaxRetryAttempts = 2);
        h.Emulator.Enqueue(Enumerable.Range(0, 3).Select(_ => AimlScriptedReply.Error(503, "Service temporarily unavailable")).ToArray());
        var error = await h.FailAsync();
        Assert.Equal(GenerationErrorCategory.ProviderUnavailable, error.Category);
        Assert.Equal("provider_unavailable.http_503", error.Code);
        Assert.Equal(3, h.Emulator.Requests.Count);
    }

    [Fact]
    public async Task A_hanging_service_times_out_per_attempt_and_ends_provider_unavailable()
    {
        // The service hangs for ten minutes and the total timeout is as long: only the 300 ms attempt timeout can end
        // the two attempts within a minute, a margin no scheduling delay reaches.
        await using var h = await AimlHarness.StartAsync(o =>
        {
            o.AttemptTimeout = TimeSpan.FromMilliseconds(300);
            o.TotalTimeout = TimeSpan.FromMinutes(10);
            o.MaxRetryAttempts = 1;
        });
        var hang = new AimlScriptedReply(200, null, Delay: TimeSpan.FromMinutes(10));
        h.Emulator.Enqueue(hang, hang);
        var started = Stopwatch.StartNew();
        var error = await h.FailAsync();
        Assert.Equal(GenerationErrorCategory.ProviderUnavailable, error.Category);
        Assert.Equal("provider_unavailable.timeout", error.Code);
        Assert.True(started.Elapsed < TimeSpan.FromMinutes(1), $"The attempt timeout did not cut the hanging calls short ({started.Elapsed}).");
        Assert.Equal(2, h.Emulator.Requests.Count); // the first attempt timed out and was retried once
    }

    [Fact]
    public async Task An_unreachable_service_is_provider_unavailable()
    {
        // A loopback port nobody listens on, held for the whole test so no parallel test's server can take it.
        using var refused = new RefusedPort();
        var other = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, refused.Port);
        Assert.Throws<System.Net.Sockets.SocketException>(other.Start); // taken for the test: no server can listen there
        await using var h = await AimlHarness.StartAsync(o => o.BaseUrl = new Uri($"http://127.0.0.1:{refused.Port}"));
        var error = await h.FailAsync();
        Assert.Equal(GenerationErrorCategory.ProviderUnavailable, error.Category);
        Assert.Equal("provider_unavailable.unreachable", error.Code);
    }

    [Theory]
    [InlineData("{\"data\":[{\"url\":")]
    [InlineData("<html>502 Bad Gateway</html>")]
    [InlineData("[1,2,3]")]
    public async Task Malformed_json_is_a_provider_error(string body)
    {
        await using var h = await AimlHarness.StartAsync();
        h.Emulator.Enqueue(new AimlScriptedReply(200, body));
        var error = await h.FailAsync();
        Assert.Equal(GenerationErrorCategory.ProviderError, error.Category);
        Assert.Equal("provider_error.malformed_response", error.Code);
        Assert.Single(h.Emulator.Requests);
    }

    [Theory]
    [InlineData("""{"data":[]}""")]
    [InlineData("""{"data":[{"revised_prompt":"x"}]}""")]
    [InlineData("""{"images":[{"width":512}]}""")]
    [InlineData("""{"id":"gen-1"}""")]
    public async Task An_answer_without_an_image_is_a_provider_error(string body)
    {
        await using var h = await AimlHarness.StartAsync();
        h.Emulator.Enqueue(new AimlScriptedReply(200, body));
        var error = await h.FailAsync();
        Assert.Equal(GenerationErrorCategory.ProviderError, error.Category);
        Assert.Equal("provider_error.no_image", error.Code);
    }

    [Fact]
    public async Task Invalid_inline_base64_is_a_provider_error()
    {
        await using var h = await AimlHarness.StartAsync();
        h.Emulator.Enqueue(new AimlScriptedReply(200, """{"data":[{"b64_json":"@@not base64@@"}]}"""));
        var error = await h.FailAsync();
        Assert.Equal("provider_error.bad_base64", error.Code);
    }

    [Fact]
    public async Task The_key_never_appears_in_any_log_message_even_at_trace_level()
    {
        await using var h = await AimlHarness.StartAsync();
        h.Emulator.Enqueue(
            AimlScriptedReply.Error(401, "expired"),
            AimlScriptedReply.Success(),
            AimlScriptedReply.Error(400, "bad prompt"),
            AimlScriptedReply.Error(503, "down"),
            AimlScriptedReply.Success());
        await h.GenerateAsync();
        await h.FailAsync();
        await h.GenerateAsync();

        var messages = h.Logs.Messages.ToArray();
        Assert.NotEmpty(messages);

        // The client's default header loggers are removed: they redacted Authorization in the formatted text only,
        // leaving "Bearer <key>" in the entry's structured values (see tests/Stefna.Reliability.Tests SecurityTests).
        Assert.DoesNotContain(messages, m => m.Contains("Bearer", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("AIML API", StringComparison.Ordinal));
        Assert.DoesNotContain(messages, m => m.Contains(h.Emulator.ApiKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_provider_is_named_aimlapi_and_does_not_poll()
    {
        await using var h = await AimlHarness.StartAsync();
        Assert.Equal("aimlapi", h.Provider.Name);
        await Assert.ThrowsAsync<NotSupportedException>(async () => await h.Provider.PollAsync("x", AimlHarness.TextRequest(), CancellationToken.None));
        Assert.Equal(new Uri(h.Emulator.BaseUrl, "/v1/images/generations"), ((AimlApiImageProvider)h.Provider).Endpoint);
    }
}
