using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Stefna.Sdk.Testing;
using Stefna.Sdk.Testing.Fakes;

namespace Stefna.Sdk.Testing.Tests;

/// <summary>The kit's loopback OpenAI Images API, spoken to over plain HTTP as the API reference describes it.</summary>
public sealed class OpenAIImagesEmulatorTests
{
    private static HttpRequestMessage Json(OpenAIImagesEmulator openai, string body, string? key = null) => new(HttpMethod.Post, openai.BaseUrl + "/images/generations")
    {
        Content = new StringContent(body, Encoding.UTF8, "application/json"),
        Headers = { Authorization = new AuthenticationHeaderValue("Bearer", key ?? openai.ApiKey) },
    };

    [Fact]
    public async Task Generations_answer_b64_json_for_gpt_image_and_a_served_url_for_dall_e()
    {
        await using var openai = await OpenAIImagesEmulator.StartAsync();
        using var http = new HttpClient();

        using var gpt = await http.SendAsync(Json(openai, """{"model":"gpt-image-1","prompt":"a fox","size":"1024x1536","quality":"high"}"""));
        using var dalle = await http.SendAsync(Json(openai, """{"model":"dall-e-2","prompt":"a fox","n":1,"size":"256x256","response_format":"url"}"""));

        using var gptBody = JsonDocument.Parse(await gpt.Content.ReadAsStringAsync());
        Assert.Equal(openai.Image, Convert.FromBase64String(gptBody.RootElement.GetProperty("data")[0].GetProperty("b64_json").GetString()!));
        using var dalleBody = JsonDocument.Parse(await dalle.Content.ReadAsStringAsync());
        var url = dalleBody.RootElement.GetProperty("data")[0].GetProperty("url").GetString()!;
        Assert.Equal(openai.Image, await http.GetByteArrayAsync(url));
        Assert.Equal(1, openai.ImageDownloads);
    }

    [Theory]
    [InlineData("""{"model":"gpt-image-1","prompt":"p","response_format":"url"}""", "response_format")]
    [InlineData("""{"model":"gpt-image-1","prompt":"p","size":"512x512"}""", "size")]
    [InlineData("""{"model":"dall-e-3","prompt":"p","n":2}""", "n")]
    [InlineData("""{"model":"gpt-image-1"}""", "prompt")]
    [InlineData("""{"model":"gpt-image-1","prompt":"p","image_size":"square_hd"}""", "image_size")]
    public async Task A_request_outside_the_api_reference_is_a_400_naming_the_param(string body, string param)
    {
        await using var openai = await OpenAIImagesEmulator.StartAsync();
        using var http = new HttpClient();

        using var response = await http.SendAsync(Json(openai, body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("invalid_request_error", error.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(param, error.RootElement.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task A_wrong_key_is_401_invalid_api_key_and_a_scripted_429_carries_retry_after()
    {
        await using var openai = await OpenAIImagesEmulator.StartAsync();
        using var http = new HttpClient();
        openai.Enqueue(OpenAIScriptedReply.RateLimited(retryAfterSeconds: 3));

        using var wrong = await http.SendAsync(Json(openai, """{"model":"gpt-image-1","prompt":"p"}""", key: "sk-wrong"));
        using var limited = await http.SendAsync(Json(openai, """{"model":"gpt-image-1","prompt":"p"}"""));

        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Contains("invalid_api_key", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(3), limited.Headers.RetryAfter?.Delta);
    }

    [Fact]
    public async Task An_edit_must_be_multipart_with_an_image_file()
    {
        await using var openai = await OpenAIImagesEmulator.StartAsync();
        using var http = new HttpClient();
        using var form = new MultipartFormDataContent
        {
            { new StringContent("gpt-image-1"), "model" },
            { new StringContent("make it neon"), "prompt" },
        };
        using var text = new ByteArrayContent("not an image"u8.ToArray());
        text.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        form.Add(text, "image", "a.png");
        using var request = new HttpRequestMessage(HttpMethod.Post, openai.BaseUrl + "/images/edits") { Content = form };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", openai.ApiKey);

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(openai.SchemaErrors, e => e.StartsWith("image:", StringComparison.Ordinal));
        Assert.Single(Assert.Single(openai.Requests).Images);
    }
}
