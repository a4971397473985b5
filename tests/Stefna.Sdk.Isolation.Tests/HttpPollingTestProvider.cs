using System.Net.Http.Json;
using System.Text.Json;
using Stefna.Sdk.Providers;

namespace Stefna.Sdk.Isolation.Tests;

/// <summary>
/// A submit-then-poll provider in the style of Replicate or fal: <c>POST /v1/jobs</c> answers a job id,
/// <c>GET /v1/jobs/{id}</c> answers <c>queued</c>, <c>generating</c>, then <c>completed</c> with an image URL.
/// </summary>
internal sealed class HttpPollingTestProvider(HttpClient http, Uri baseUrl) : IImageProvider
{
    public string Name => "http-polling-test";

    public async ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync(new Uri(baseUrl, "/v1/jobs"), new { prompt = request.Prompt, seed = request.Seed, idempotency_key = request.JobId }, cancellationToken);
        response.EnsureSuccessStatusCode();
        var job = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        return new ProviderResponse.Pending(job.GetProperty("id").GetString()!, job.GetProperty("status").GetString()!);
    }

    public async ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken)
    {
        var job = await http.GetFromJsonAsync<JsonElement>(new Uri(baseUrl, "/v1/jobs/" + Uri.EscapeDataString(providerJobId)), cancellationToken);
        var status = job.GetProperty("status").GetString()!;
        return status switch
        {
            "completed" => new ProviderResponse.Completed(new ProviderImage
            {
                Url = new Uri(job.GetProperty("output").GetProperty("url").GetString()!),
                Meta = new Dictionary<string, string> { ["provider_status"] = status },
            }),
            "failed" => throw new GenerationException(GenerationErrorCategory.ProviderError, "The provider job failed."),
            _ => new ProviderResponse.Pending(providerJobId, status),
        };
    }
}
