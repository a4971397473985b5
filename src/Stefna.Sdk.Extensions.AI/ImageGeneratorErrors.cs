using System.ClientModel;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Stefna.Sdk.Providers;

namespace Stefna.Sdk.Extensions.AI;

/// <summary>
/// Classifies what an <c>IImageGenerator</c> throws into Stefna's categories. Generators over the OpenAI and Azure
/// OpenAI clients throw <see cref="ClientResultException"/> (System.ClientModel) carrying the HTTP status and the
/// service's JSON error; others may throw <see cref="HttpRequestException"/> with a status code.
/// </summary>
internal static class ImageGeneratorErrors
{
    // OpenAI's documented refusals: DALL·E answers 400 code "content_policy_violation", gpt-image models
    // "moderation_blocked"; the message names the "safety system".
    private static readonly string[] PolicyMarkers = ["content_policy", "moderation_blocked", "safety system", "content policy", "responsibleai"];

    public static GenerationException Map(Exception exception, string provider, TimeSpan defaultRetryAfter, TimeProvider time) => exception switch
    {
        GenerationException g => g,
        ClientResultException c => FromStatus(c.Status, ReadError(c), RetryAfter(c, time), provider, defaultRetryAfter, c),
        HttpRequestException { StatusCode: { } status } h => FromStatus((int)status, (h.Message, null, null), null, provider, defaultRetryAfter, h),
        HttpRequestException h => new GenerationException(GenerationErrorCategory.ProviderUnavailable, $"{provider} could not be reached: {h.Message}", "provider_unavailable.unreachable", h),
        TimeoutException or TaskCanceledException => new GenerationException(GenerationErrorCategory.ProviderUnavailable, $"{provider} did not answer in time.", "provider_unavailable.timeout", exception),
        ArgumentException or NotSupportedException => new GenerationException(GenerationErrorCategory.InvalidRequest, $"{provider} cannot serve this request: {exception.Message}", "invalid_request.provider_rejected", exception),
        _ => new GenerationException(GenerationErrorCategory.ProviderUnavailable, $"Calling {provider} failed: {exception.Message}", "provider_unavailable.error", exception),
    };

    private static GenerationException FromStatus(int status, (string? Message, string? Code, string? Type) error, TimeSpan? retryAfter, string provider, TimeSpan defaultRetryAfter, Exception inner)
    {
        var detail = string.IsNullOrWhiteSpace(error.Message) ? string.Empty : ": " + Truncate(error.Message!, 300);
        if (status is >= 400 and < 500 && IsPolicy(error))
        {
            return new GenerationException(GenerationErrorCategory.ContentRejected, $"{provider} refused this content under its content policy{detail}. Change the prompt or image and try again.", "content_rejected.policy", inner);
        }

        return status switch
        {
            0 => new GenerationException(GenerationErrorCategory.ProviderUnavailable, $"{provider} could not be reached{detail}", "provider_unavailable.unreachable", inner),
            401 => new GenerationException(GenerationErrorCategory.InvalidRequest, $"{provider} rejected the API key (401){detail}. Check the key the generator was built with.", "invalid_request.unauthorized", inner),
            403 => new GenerationException(GenerationErrorCategory.InvalidRequest, $"{provider} refused access (403){detail}. Check that the key may use this model.", "invalid_request.forbidden", inner),
            429 when error.Code is "insufficient_quota" => new GenerationException(GenerationErrorCategory.ProviderUnavailable, $"{provider} says the account's quota is used up (429){detail}", "provider_unavailable.quota", inner),
            429 => new ProviderRetryAfterException(retryAfter ?? defaultRetryAfter, $"{provider} is rate-limiting requests (429); retry after {(retryAfter ?? defaultRetryAfter).TotalSeconds:0.#} s{detail}"),
            408 => new GenerationException(GenerationErrorCategory.ProviderUnavailable, $"{provider} timed out (408).", "provider_unavailable.timeout", inner),
            >= 500 => new GenerationException(GenerationErrorCategory.ProviderUnavailable, $"{provider} is failing ({status}){detail}", "provider_unavailable.http_" + status.ToString(CultureInfo.InvariantCulture), inner),
            >= 400 => new GenerationException(GenerationErrorCategory.InvalidRequest, $"{provider} rejected the request ({status}){detail}", "invalid_request.provider_rejected", inner),
            _ => new GenerationException(GenerationErrorCategory.ProviderError, $"{provider} answered an unexpected {status}{detail}", "provider_error.http_" + status.ToString(CultureInfo.InvariantCulture), inner),
        };
    }

    private static bool IsPolicy((string? Message, string? Code, string? Type) error) =>
        PolicyMarkers.Any(m =>
            (error.Code?.Contains(m, StringComparison.OrdinalIgnoreCase) ?? false)
            || (error.Type?.Contains(m, StringComparison.OrdinalIgnoreCase) ?? false)
            || (error.Message?.Contains(m, StringComparison.OrdinalIgnoreCase) ?? false));

    /// <summary>Reads OpenAI's documented error body, <c>{"error":{"message","type","param","code"}}</c>.</summary>
    private static (string? Message, string? Code, string? Type) ReadError(ClientResultException exception)
    {
        var content = exception.GetRawResponse()?.Content;
        if (content is null || content.ToMemory().IsEmpty)
        {
            return (exception.Message, null, null);
        }

        try
        {
            using var document = JsonDocument.Parse(content.ToMemory());
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("error", out var error)
                && error.ValueKind == JsonValueKind.Object)
            {
                return (Text(error, "message"), Text(error, "code"), Text(error, "type"));
            }
        }
        catch (JsonException)
        {
            // Not JSON: the exception's own message says what the status was.
        }

        return (exception.Message, null, null);

        static string? Text(JsonElement element, string name) =>
            element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
    }

    private static TimeSpan? RetryAfter(ClientResultException exception, TimeProvider time)
    {
        if (exception.GetRawResponse()?.Headers is not { } headers || !headers.TryGetValue("Retry-After", out var value) || value is null)
        {
            return null;
        }

        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return TimeSpan.FromSeconds(seconds);
        }

        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date) && date > time.GetUtcNow()
            ? date - time.GetUtcNow()
            : null;
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max] + "…";
}
