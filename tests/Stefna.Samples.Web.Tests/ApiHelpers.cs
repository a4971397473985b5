using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Stefna.Samples.Web.Tests;

internal static class ApiHelpers
{
    public static readonly string PortraitPath = Path.Combine(WebAppFixture.RepositoryRoot, "samples", "images", "portrait.png");

    public static byte[] Portrait() => File.ReadAllBytes(PortraitPath);

    /// <summary>Posts a multipart submit: an optional image plus text fields (a field may repeat).</summary>
    public static Task<HttpResponseMessage> SubmitAsync(HttpClient client, string type, byte[]? image, params (string Name, string Value)[] fields) =>
        SubmitAsync(client, type, image, idempotencyKey: null, fields);

    public static async Task<HttpResponseMessage> SubmitAsync(HttpClient client, string type, byte[]? image, string? idempotencyKey, params (string Name, string Value)[] fields)
    {
        using var form = new MultipartFormDataContent();
        if (image is not null)
        {
            var file = new ByteArrayContent(image);
            file.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            form.Add(file, "image", "photo.png");
        }

        foreach (var (name, value) in fields)
        {
            form.Add(new StringContent(value), name);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, $"api/generations/{type}") { Content = form };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await client.SendAsync(request);
    }

    /// <summary>Submits and returns the Location and the body, asserting 202.</summary>
    public static async Task<(string Location, JsonElement Body)> SubmitAcceptedAsync(HttpClient client, string type, byte[]? image, params (string Name, string Value)[] fields)
    {
        using var response = await SubmitAsync(client, type, image, fields);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"Expected 202, got {(int)response.StatusCode}: {text}");
        return (response.Headers.Location!.OriginalString, JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>Polls a job until it is completed, failed or canceled (generous deadline for a busy machine).</summary>
    public static async Task<JsonElement> WaitUntilFinishedAsync(HttpClient client, string location)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var job = await client.GetFromJsonAsync<JsonElement>(location.TrimStart('/'));
            if (job.GetProperty("status").GetString() is "completed" or "failed" or "canceled")
            {
                return job;
            }

            Assert.True(DateTime.UtcNow < deadline, $"The job at {location} did not finish in time; last status {job.GetProperty("status")}.");
            await Task.Delay(100);
        }
    }

    /// <summary>Reads a ProblemDetails answer, asserting its status and media type.</summary>
    public static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"Expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement.Clone();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        return problem;
    }

    public static string? Str(this JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
