using System.Net;
using System.Text;
using Stefna.Sdk.Testing.Fakes;
using Stefna.TestUtils;

namespace Stefna.Sdk.Providers.AimlApi.Tests;

/// <summary>The emulator itself must reject what the real API would, or the provider tests prove nothing.</summary>
public sealed class EmulatorSchemaTests
{
    [Theory]
    [InlineData("""{"prompt":"p","image_size":"square_hd","num_images":1}""", "model is required")]
    [InlineData("""{"model":"flux/unknown","prompt":"p"}""", "not one of the documented image models")]
    [InlineData("""{"model":"flux/schnell","image_size":"square_hd"}""", "prompt is required")]
    [InlineData("""{"model":"flux/dev/image-to-image","prompt":"p","strength":0.5}""", "image_url is required")]
    [InlineData("""{"model":"flux/dev/image-to-image","prompt":"p","image_url":"https://x.test/a.png","image_size":"square_hd"}""", "image_size is not a documented field of flux/dev/image-to-image")]
    [InlineData("""{"model":"flux/dev/image-to-image","prompt":"p","image_url":"data:image/png;base64,iVBORw0KGgo="}""", "image_url must be an http(s) URL")]
    [InlineData("""{"model":"flux/dev/image-to-image","prompt":"p","image_url":"https://x.test/a.png","strength":"high"}""", "strength must be a number")]
    [InlineData("""{"model":"flux/schnell","prompt":"p","num_images":5}""", "num_images must be from 1 to 4")]
    [InlineData("""{"model":"flux/schnell","prompt":"p","seed":0}""", "seed must be from 1")]
    [InlineData("""{"model":"flux/schnell","prompt":"p","seed":1.5}""", "seed must be an integer")]
    [InlineData("""{"model":"flux/schnell","prompt":"p","image_size":"huge"}""", "image_size must be one of")]
    [InlineData("""{"model":"flux/schnell","prompt":"p","image_size":{"width":1000,"height":768}}""", "multiples of 32")]
    [InlineData("""{"model":"flux/schnell","prompt":"p","num_inference_steps":20}""", "num_inference_steps must be from 1 to 12")]
    [InlineData("""{"model":"flux/schnell","prompt":"p","guidance_scale":3}""", "guidance_scale is not a documented field of flux/schnell")]
    [InlineData("""{"model":"dall-e-3","prompt":"p","n":2}""", "n must be from 1 to 1")]
    [InlineData("""{"model":"dall-e-2","prompt":"p","image_size":"square_hd"}""", "image_size is not a documented field of dall-e-2")]
    public async Task A_body_that_breaks_the_schema_is_answered_400_with_the_error(string body, string expected)
    {
        await using var emulator = await AimlApiEmulator.StartAsync();
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(emulator.BaseUrl, "/v1/images/generations"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new("Bearer", emulator.ApiKey);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expected, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains(emulator.SchemaErrors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_valid_body_without_the_key_is_answered_401()
    {
        await using var emulator = await AimlApiEmulator.StartAsync();
        using var http = new HttpClient();
        using var response = await http.PostAsync(new Uri(emulator.BaseUrl, "/v1/images/generations"), new StringContent("""{"model":"flux/schnell","prompt":"p"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task A_request_is_recorded_when_it_arrives_before_it_is_answered()
    {
        // Recorded before the answer is written, so a caller holding its answer (and a retry sent right after it) finds
        // it in Requests, in arrival order. A reply delayed for ten minutes shows it: the request is there meanwhile.
        await using var emulator = await AimlApiEmulator.StartAsync();
        emulator.Enqueue(new AimlScriptedReply(200, null, Delay: TimeSpan.FromMinutes(10)));
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(emulator.BaseUrl, "/v1/images/generations"))
        {
            Content = new StringContent("""{"model":"flux/schnell","prompt":"p"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new("Bearer", emulator.ApiKey);
        using var giveUp = new CancellationTokenSource();
        var sent = DateTimeOffset.UtcNow;
        var call = http.SendAsync(request, giveUp.Token);
        await Eventually.HoldsAsync(() => emulator.Requests.Count == 1, "the request in its delay was not recorded", TimeSpan.FromSeconds(60));
        Assert.False(call.IsCompleted);
        var recorded = Assert.Single(emulator.Requests);
        Assert.Equal(200, recorded.Status);
        Assert.InRange(recorded.ReceivedAt, sent.AddSeconds(-1), DateTimeOffset.UtcNow);
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
    }

    [Theory]
    [InlineData("""{"model":"flux/dev/image-to-image","prompt":"p","image_url":"https://cdn.example.test/a.png"}""")] // strength is optional
    [InlineData("""{"model":"flux/dev/image-to-image","prompt":"p","image_url":"https://cdn.example.test/a.png","strength":0.5,"num_images":1,"seed":7,"guidance_scale":3.5,"num_inference_steps":28,"enable_safety_checker":false}""")]
    [InlineData("""{"model":"flux/dev","prompt":"p","image_size":{"width":1024,"height":768},"guidance_scale":3.5,"num_inference_steps":28,"enable_safety_checker":true,"num_images":2,"seed":1}""")]
    [InlineData("""{"model":"flux/schnell","prompt":"p","image_size":"square_hd","num_inference_steps":4,"num_images":1,"seed":3}""")]
    [InlineData("""{"model":"stable-diffusion-v35-large","prompt":"p","negative_prompt":"blur","image_size":"landscape_16_9"}""")]
    [InlineData("""{"model":"dall-e-3","prompt":"p","n":1,"size":"1792x1024","quality":"hd","style":"natural","response_format":"b64_json"}""")]
    public void Bodies_with_the_documented_optional_fields_are_valid(string body)
    {
        Assert.Empty(AimlApiEmulator.ValidateBody(body));
    }

    [Fact]
    public void The_emulator_names_the_docs_revision_it_follows()
    {
        Assert.Contains("aimlapi/api-docs@", AimlApiEmulator.SchemaRevision, StringComparison.Ordinal);
        Assert.Contains("flux/dev/image-to-image", AimlApiEmulator.DocumentedModels);
    }
}
