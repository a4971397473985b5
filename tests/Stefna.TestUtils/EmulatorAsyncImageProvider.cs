using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Stefna.Sdk;
using Stefna.Sdk.Providers;

namespace Stefna.TestUtils;

/// <summary>
/// A test-only asynchronous provider for the kit's <c>AimlApiEmulator</c> asynchronous mode (<c>/v2/images/generations</c>,
/// which the real AIML API does not have for images; see the emulator's remarks): submit answers
/// <see cref="ProviderResponse.Pending"/> with the generation id, polls read its status, cancel deletes it. Each submit
/// carries the job id as <c>Idempotency-Key</c>, so the emulator counts submits per job.
/// </summary>
public sealed class EmulatorAsyncImageProvider(HttpClient client, Uri baseUrl, string apiKey) : IImageProvider
{
    private readonly Uri _endpoint = new(baseUrl, "/v2/images/generations");

    /// <inheritdoc />
    public string Name => "emulator-async";

    /// <inheritdoc />
    public async ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = JsonContent.Create(new JsonObject { ["model"] = "flux/schnell", ["prompt"] = request.Prompt }) };
        message.Headers.Add("Idempotency-Key", request.JobId.ToString());
        var answer = await SendAsync(message, cancellationToken);
        return new ProviderResponse.Pending(answer["id"]!.GetValue<string>(), answer["status"]!.GetValue<string>());
    }

    /// <inheritdoc />
    public async ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Get, _endpoint + "?generation_id=" + Uri.EscapeDataString(providerJobId));
        var answer = await SendAsync(message, cancellationToken);
        return answer["status"]!.GetValue<string>() switch
        {
            "completed" => new ProviderResponse.Completed(new ProviderImage { Bytes = Convert.FromBase64String(answer["data"]![0]!["b64_json"]!.GetValue<string>()) }),
            "canceled" => throw new GenerationException(GenerationErrorCategory.Canceled, "The provider canceled the generation."),
            var status => new ProviderResponse.Pending(providerJobId, status),
        };
    }

    /// <inheritdoc />
    public async ValueTask CancelAsync(string providerJobId, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Delete, _endpoint + "?generation_id=" + Uri.EscapeDataString(providerJobId));
        await SendAsync(message, cancellationToken);
    }

    private async Task<JsonObject> SendAsync(HttpRequestMessage message, CancellationToken cancellationToken)
    {
        message.Headers.Authorization = new("Bearer", apiKey);
        using var response = await client.SendAsync(message, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new GenerationException(GenerationErrorCategory.ProviderUnavailable, $"The emulator answered {(int)response.StatusCode}: {body}");
        }

        return JsonNode.Parse(body)!.AsObject();
    }
}
