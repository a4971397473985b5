using System.Net;
using System.Text;
using Stefna.Sdk.Testing.Fakes;
using Stefna.TestUtils;

namespace Stefna.Sdk.Providers.AimlApi.Tests;

/// <summary>The emulator itself must reject what the real API would, or the provider tests prove nothing.</summary>
public sealed class EmulatorSchemaTests
{
    [Theory]
    [InlineData("""{"prompt":"p","image_size":"square_hd","num_images":1}""", "model")]
    [InlineData("""{"model":"m","image_size":"square_hd"}""", "prompt")]
    [InlineData("""{"model":"m","prompt":"p","image_url":"https://x.test/a.png"}""", "together")]
    [InlineData("""{"model":"m","prompt":"p","strength":0.5}""", "together")]
    [InlineData("""{"model":"m","prompt":"p","image_url":"data:image/png;base64,@@@","strength":0.5}""", "image_url")]
    [InlineData("""{"model":"m","prompt":"p","image_url":"https://x.test/a.png","strength":"high"}""", "strength")]
    [InlineData("""{"model":"m","prompt":"p","num_images":"1"}""", "num_images")]
    [InlineData("""{"model":"m","prompt":"p","seed":1.5}""", "seed")]
    [InlineData("""{"model":"m","prompt":"p","image_size":"huge"}""", "image_size")]
    [InlineData("""{"model":"m","prompt":"p","negative":"x"}""", "unknown field")]
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
        using var response = await http.PostAsync(new Uri(emulator.BaseUrl, "/v1/images/generations"), new StringContent("""{"model":"m","prompt":"p"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public void A_complete_image_to_image_body_is_valid()
    {
        var data = Convert.ToBase64String(TestImages.Png());
        Assert.Empty(AimlApiEmulator.ValidateBody($$"""{"model":"m","prompt":"p","image_size":"square_hd","num_images":1,"seed":7,"image_url":"data:image/png;base64,{{data}}","strength":0.5}"""));
    }
}
