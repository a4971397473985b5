using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Stefna.Sdk.Testing.Fakes;

namespace Stefna.Sdk.Testing.Tests;

/// <summary>The kit's loopback AIML API, used as a plug-in author would: plain HTTP against its documented shapes.</summary>
public sealed class AimlApiEmulatorTests
{
    private const string ValidBody = """{"model":"flux/schnell","prompt":"a lighthouse","image_size":"square_hd","num_images":1,"seed":3}""";

    [Fact]
    public async Task A_valid_request_is_answered_with_a_url_the_emulator_serves_the_image_at()
    {
        await using var aiml = await AimlApiEmulator.StartAsync("kit-key");
        aiml.Image = SampleImages.Png(20, 10, seed: 4);
        using var http = new HttpClient();

        using var response = await SendAsync(http, aiml, ValidBody, "kit-key");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var url = new Uri((string)answer["data"]![0]!["url"]!);
        Assert.Equal(aiml.BaseUrl.Authority, url.Authority);
        Assert.Equal(aiml.Image, await http.GetByteArrayAsync(url));
        Assert.Equal(1, aiml.ImageDownloads);
        var recorded = Assert.Single(aiml.Requests);
        Assert.Equal("Bearer kit-key", recorded.Authorization);
        Assert.Equal(200, recorded.Status);
        Assert.Equal("a lighthouse", (string?)recorded.Json["prompt"]);
        Assert.Empty(aiml.SchemaErrors);
    }

    [Fact]
    public async Task Scripted_replies_are_played_in_order_and_a_wrong_key_uses_none_of_them()
    {
        await using var aiml = await AimlApiEmulator.StartAsync("kit-key");
        aiml.Format = AimlImageFormat.DataB64Json;
        aiml.Enqueue(new AimlScriptedReply(429, """{"error":{"message":"slow down"}}""", RetryAfter: 2), AimlScriptedReply.Error(503, "down", "server_error"));
        using var http = new HttpClient();

        using var unauthorized = await SendAsync(http, aiml, ValidBody, "wrong-key");
        using var limited = await SendAsync(http, aiml, ValidBody, "kit-key");
        using var down = await SendAsync(http, aiml, ValidBody, "kit-key");
        using var ok = await SendAsync(http, aiml, ValidBody, "kit-key");

        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
        Assert.Contains("invalid_api_key", await unauthorized.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(2), limited.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        Assert.Equal("server_error", (string?)JsonNode.Parse(await down.Content.ReadAsStringAsync())!["error"]!["code"]);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var b64 = (string)JsonNode.Parse(await ok.Content.ReadAsStringAsync())!["data"]![0]!["b64_json"]!;
        Assert.Equal(aiml.Image, Convert.FromBase64String(b64));
        Assert.Equal([401, 429, 503, 200], aiml.Requests.Select(r => r.Status));
    }

    [Fact]
    public async Task A_body_outside_the_documented_schema_is_answered_400_and_recorded()
    {
        await using var aiml = await AimlApiEmulator.StartAsync();
        using var http = new HttpClient();

        // image_size is not in flux/dev/image-to-image's documented schema: the output follows the reference image.
        using var response = await SendAsync(http, aiml, """{"model":"flux/dev/image-to-image","prompt":"p","image_url":"https://example.test/a.png","image_size":"square_hd"}""", aiml.ApiKey);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(aiml.SchemaErrors, e => e.Contains("image_size is not a documented field of flux/dev/image-to-image", StringComparison.Ordinal));
        Assert.Empty(AimlApiEmulator.ValidateBody(ValidBody));
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, AimlApiEmulator aiml, string body, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(aiml.BaseUrl, "/v1/images/generations"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new("Bearer", key);
        return await http.SendAsync(request);
    }
}
