using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Stefna.Sdk.Providers.AimlApi;

/// <summary>
/// Generates images with the AIML API (<c>POST /v1/images/generations</c>). Answers at once (no polling). Every
/// failure leaves as a <see cref="GenerationException"/> with a category; see the package README for the mapping.
/// Created by <c>UseAimlApi(...)</c> on the Stefna builder.
/// </summary>
public sealed partial class AimlApiImageProvider : IImageProvider
{
    /// <summary>The provider's name in logs, telemetry and job metadata.</summary>
    public const string ProviderName = "aimlapi";

    private static readonly string[] PolicyMarkers = ["content_policy", "content policy", "content-policy", "contentpolicy", "moderation", "safety", "nsfw", "policy_violation", "policy violation", "unsafe content"];

    private readonly IHttpClientFactory _clients;
    private readonly string _clientName;
    private readonly AimlApiOptions _options;
    private readonly Uri _endpoint;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    internal AimlApiImageProvider(IHttpClientFactory clients, string clientName, AimlApiOptions options, TimeProvider time, ILogger<AimlApiImageProvider> logger)
    {
        _clients = clients;
        _clientName = clientName;
        _options = options;
        _endpoint = new Uri(options.BaseUrl.AbsoluteUri.TrimEnd('/') + "/v1/images/generations");
        _time = time;
        _logger = logger;
    }

    /// <inheritdoc />
    public string Name => ProviderName;

    /// <summary>The generation endpoint this instance calls.</summary>
    public Uri Endpoint => _endpoint;

    /// <inheritdoc />
    public async ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (body, model) = BuildBody(request);
        var started = _time.GetTimestamp();
        LogSending(_logger, request.JobId, model, request.SourceImage is not null || request.SourceImageUrl is not null);

        HttpResponseMessage response;
        try
        {
            var client = _clients.CreateClient(_clientName);
            using var message = new HttpRequestMessage(HttpMethod.Post, _endpoint)
            {
                Content = new ByteArrayContent(body) { Headers = { ContentType = new("application/json") { CharSet = "utf-8" } } },
            };
            message.Headers.Accept.ParseAdd("application/json");
            response = await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (GenerationException)
        {
            throw;
        }
        catch (BrokenCircuitException ex)
        {
            throw Fail(new GenerationException(GenerationErrorCategory.ProviderUnavailable, "The AIML API kept failing, so calls to it are paused for a moment (circuit open). Try again shortly.", "provider_unavailable.circuit_open", ex));
        }
        catch (Exception ex) when (ex is TimeoutRejectedException or TaskCanceledException or TimeoutException)
        {
            throw Fail(new GenerationException(GenerationErrorCategory.ProviderUnavailable, $"The AIML API did not answer in time (after retries, {_options.TotalTimeout.TotalSeconds:0.#} s at most).", "provider_unavailable.timeout", ex));
        }
        catch (HttpRequestException ex)
        {
            throw Fail(new GenerationException(GenerationErrorCategory.ProviderUnavailable, $"The AIML API could not be reached: {ex.Message}", "provider_unavailable.unreachable", ex));
        }
        catch (Exception ex)
        {
            throw Fail(new GenerationException(GenerationErrorCategory.ProviderUnavailable, $"Calling the AIML API failed: {ex.Message}", "provider_unavailable.http", ex));
        }

        using (response)
        {
            var content = await ReadBodyAsync(response, cancellationToken).ConfigureAwait(false);
            LogAnswered(_logger, request.JobId, (int)response.StatusCode, (long)_time.GetElapsedTime(started).TotalMilliseconds);
            if (!response.IsSuccessStatusCode)
            {
                throw Fail(MapError(response, content));
            }

            return new ProviderResponse.Completed(ParseImage(content, model, response));
        }
    }

    /// <summary>Not used: the AIML API answers generations at once.</summary>
    /// <param name="providerJobId">Ignored.</param>
    /// <param name="request">Ignored.</param>
    /// <param name="cancellationToken">Ignored.</param>
    /// <returns>Never returns.</returns>
    /// <exception cref="NotSupportedException">Always.</exception>
    public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken) =>
        throw new NotSupportedException("The AIML API provider answers at once; there is nothing to poll.");

    /// <summary>
    /// Writes the body the model's documentation describes (aimlapi/api-docs; the package README names the revision):
    /// <list type="bullet">
    /// <item>OpenAI family (<c>dall-e-*</c>, <c>gpt-image-*</c>): <c>model, prompt, n</c>, <c>size</c> when the request names a <c>WIDTHxHEIGHT</c>.</item>
    /// <item>Image-to-image family (<c>…/image-to-image</c>): <c>model, prompt, image_url, strength, num_images, seed</c>; no
    /// <c>image_size</c> (the output follows the reference image). The source goes as its http(s) URL from the asset
    /// storage: these models document only URLs, so there is no <c>data:</c> fallback.</item>
    /// <item>Text-to-image (flux, Stable Diffusion): <c>model, prompt, image_size, num_images, seed</c>.</item>
    /// </list>
    /// A seed is always ≥ 1 (the documented minimum).
    /// </summary>
    private (byte[] Body, string Model) BuildBody(ProviderRequest request)
    {
        var sourceUrl = request.SourceImageUrl is { } url && (url.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            ? url
            : null;
        var hasSource = sourceUrl is not null || request.SourceImage is not null;
        var model = string.IsNullOrWhiteSpace(request.Model) ? (hasSource ? _options.ImageToImageModel : _options.Model) : request.Model;
        var family = AimlModelFamilies.Of(model);
        if (hasSource && family != AimlModelFamily.ImageToImage)
        {
            throw Fail(new GenerationException(GenerationErrorCategory.InvalidRequest, $"The AIML API model '{model}' generates from text only and takes no source image; choose an image-to-image model (AimlApiOptions.ImageToImageModel).", "invalid_request.model_takes_no_image"));
        }

        if (family == AimlModelFamily.ImageToImage && sourceUrl is null)
        {
            throw Fail(new GenerationException(GenerationErrorCategory.InvalidRequest, hasSource
                ? $"The AIML API model '{model}' takes the source image only as a public http(s) URL, and the asset storage gave none. Store images where the API can fetch them: UseCloudinary(...), or UseLocalFileStorage(path, publicBaseUrl) behind a public web server."
                : $"The AIML API model '{model}' is an image-to-image model and needs a source image.", "invalid_request.source_url_required"));
        }

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("model", model);
            json.WriteString("prompt", request.Prompt);
            switch (family)
            {
                case AimlModelFamily.OpenAI:
                    json.WriteNumber("n", 1);
                    if (request.ImageSize is { } size && AimlModelFamilies.IsPixelSize(size))
                    {
                        json.WriteString("size", size);
                    }

                    break;
                case AimlModelFamily.ImageToImage:
                    json.WriteString("image_url", sourceUrl);
                    json.WriteNumber("strength", Math.Clamp(request.Strength ?? _options.DefaultStrength, 0, 1));
                    json.WriteNumber("num_images", 1);
                    WriteSeed(json, request.Seed);
                    break;
                default:
                    json.WriteString("image_size", string.IsNullOrWhiteSpace(request.ImageSize) ? _options.ImageSize : request.ImageSize);
                    json.WriteNumber("num_images", 1);
                    WriteSeed(json, request.Seed);
                    break;
            }

            json.WriteEndObject();
        }

        return (buffer.ToArray(), model);

        static void WriteSeed(Utf8JsonWriter json, long? seed)
        {
            if (seed is { } value)
            {
                json.WriteNumber("seed", AimlModelFamilies.DocumentedSeed(value));
            }
        }
    }

    private async Task<byte[]> ReadBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            if (response.Content.Headers.ContentLength > _options.MaxResponseBytes)
            {
                throw TooLarge();
            }

            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                using var copy = new MemoryStream();
                var chunk = new byte[81920];
                int read;
                while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    if (copy.Length + read > _options.MaxResponseBytes)
                    {
                        throw TooLarge();
                    }

                    copy.Write(chunk, 0, read);
                }

                return copy.ToArray();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (GenerationException)
        {
            throw;
        }
        catch (Exception ex)
        {
            throw Fail(new GenerationException(GenerationErrorCategory.ProviderUnavailable, $"The AIML API's answer could not be read: {ex.Message}", "provider_unavailable.read_failed", ex));
        }

        GenerationException TooLarge() => Fail(new GenerationException(GenerationErrorCategory.ProviderError, $"The AIML API's answer is larger than {_options.MaxResponseBytes:N0} bytes.", "provider_error.response_too_large"));
    }

    private GenerationException MapError(HttpResponseMessage response, byte[] content)
    {
        var status = (int)response.StatusCode;
        var (message, code, type) = ReadError(content);
        var detail = message is null ? string.Empty : ": " + Truncate(message, 300);
        if (status == 451 || (status is >= 400 and < 500 && IsPolicy(message, code, type)))
        {
            return new GenerationException(GenerationErrorCategory.ContentRejected, $"The AIML API refused this content under its content policy{detail}. Change the prompt or image and try again.", "content_rejected.policy");
        }

        switch (response.StatusCode)
        {
            case HttpStatusCode.BadRequest or HttpStatusCode.UnprocessableEntity:
                return new GenerationException(GenerationErrorCategory.InvalidRequest, $"The AIML API rejected the request ({status}){detail}", "invalid_request.provider_rejected");
            case HttpStatusCode.Unauthorized:
                return new GenerationException(GenerationErrorCategory.InvalidRequest, $"The AIML API rejected the API key (401) even after re-reading it; check AimlApiOptions.ApiKey or {AimlApiOptions.ApiKeyEnvironmentVariable}.", "invalid_request.unauthorized");
            case HttpStatusCode.Forbidden:
                return new GenerationException(GenerationErrorCategory.InvalidRequest, $"The AIML API refused access (403){detail}. Check that the key may use this model.", "invalid_request.forbidden");
            case HttpStatusCode.TooManyRequests:
                var wait = RetryAfter(response) ?? _options.DefaultRetryAfter;
                return new ProviderRetryAfterException(wait, $"The AIML API is rate-limiting requests (429); retry after {wait.TotalSeconds:0.#} s.");
            case HttpStatusCode.RequestTimeout:
                return new GenerationException(GenerationErrorCategory.ProviderUnavailable, "The AIML API timed out (408) after retries.", "provider_unavailable.timeout");
        }

        return status >= 500
            ? new GenerationException(GenerationErrorCategory.ProviderUnavailable, $"The AIML API is failing ({status}) after retries{detail}", "provider_unavailable.http_" + status.ToString(CultureInfo.InvariantCulture))
            : new GenerationException(GenerationErrorCategory.ProviderError, $"The AIML API answered an unexpected {status}{detail}", "provider_error.http_" + status.ToString(CultureInfo.InvariantCulture));
    }

    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        var wait = header?.Delta ?? (header?.Date is { } date ? date - _time.GetUtcNow() : null);
        return wait is { } w ? (w < TimeSpan.Zero ? TimeSpan.Zero : w) : null;
    }

    private ProviderImage ParseImage(byte[] content, string model, HttpResponseMessage response)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(content);
        }
        catch (JsonException ex)
        {
            throw Fail(new GenerationException(GenerationErrorCategory.ProviderError, $"The AIML API answered {(int)response.StatusCode} with malformed JSON: {Truncate(ex.Message, 200)}", "provider_error.malformed_response", ex));
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Fail(new GenerationException(GenerationErrorCategory.ProviderError, "The AIML API answered with JSON that is not an object.", "provider_error.malformed_response"));
            }

            if (root.TryGetProperty("has_nsfw_concepts", out var nsfw) && nsfw.ValueKind == JsonValueKind.Array && nsfw.EnumerateArray().Any(e => e.ValueKind == JsonValueKind.True))
            {
                throw Fail(new GenerationException(GenerationErrorCategory.ContentRejected, "The AIML API flagged the generated image under its content policy (NSFW). Change the prompt or image and try again.", "content_rejected.policy"));
            }

            var meta = new Dictionary<string, string>(StringComparer.Ordinal) { ["model"] = model };
            if (root.TryGetProperty("seed", out var seed) && seed.ValueKind == JsonValueKind.Number)
            {
                meta["seed"] = seed.GetRawText();
            }

            if (response.Headers.TryGetValues("x-request-id", out var ids) && ids.FirstOrDefault() is { Length: > 0 and <= 200 } id)
            {
                meta["provider_request_id"] = id;
            }

            foreach (var list in new[] { "data", "images" })
            {
                if (!root.TryGetProperty(list, out var items) || items.ValueKind != JsonValueKind.Array)
                {
                    continue;
                }

                foreach (var item in items.EnumerateArray())
                {
                    if (TryReadImage(item, meta) is { } image)
                    {
                        return image;
                    }
                }
            }

            var (message, code, type) = ReadError(content);
            if (message is not null && IsPolicy(message, code, type))
            {
                throw Fail(new GenerationException(GenerationErrorCategory.ContentRejected, $"The AIML API refused this content under its content policy: {Truncate(message, 300)}", "content_rejected.policy"));
            }

            throw Fail(new GenerationException(GenerationErrorCategory.ProviderError, "The AIML API answered without an image (no data[].url, data[].b64_json or images[].url)" + (message is null ? "." : ": " + Truncate(message, 300)), "provider_error.no_image"));
        }
    }

    private ProviderImage? TryReadImage(JsonElement item, IReadOnlyDictionary<string, string> meta)
    {
        string? url = null;
        string? base64 = null;
        if (item.ValueKind == JsonValueKind.String)
        {
            url = item.GetString();
        }
        else if (item.ValueKind == JsonValueKind.Object)
        {
            url = item.TryGetProperty("url", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null;
            base64 = item.TryGetProperty("b64_json", out var b) && b.ValueKind == JsonValueKind.String ? b.GetString() : null;
        }

        if (!string.IsNullOrWhiteSpace(base64))
        {
            return new ProviderImage { Bytes = DecodeBase64(base64), Meta = meta };
        }

        if (string.IsNullOrWhiteSpace(url))
        {
            return null;
        }

        if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            return new ProviderImage { Bytes = DecodeBase64(url), Meta = meta };
        }

        return Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            ? new ProviderImage { Url = uri, Meta = meta }
            : throw Fail(new GenerationException(GenerationErrorCategory.ProviderError, $"The AIML API returned an image URL that is not http(s): '{Truncate(url, 100)}'.", "provider_error.bad_image_url"));
    }

    private byte[] DecodeBase64(string text)
    {
        var comma = text.StartsWith("data:", StringComparison.OrdinalIgnoreCase) ? text.IndexOf(',', StringComparison.Ordinal) : -1;
        try
        {
            return Convert.FromBase64String(comma >= 0 ? text[(comma + 1)..] : text);
        }
        catch (FormatException ex)
        {
            throw Fail(new GenerationException(GenerationErrorCategory.ProviderError, "The AIML API returned an inline image that is not valid base64.", "provider_error.bad_base64", ex));
        }
    }

    /// <summary>Reads <c>{"error":{"message","code","type"}}</c>, <c>{"error":"…"}</c>, <c>{"message":…}</c> or <c>{"detail":…}</c> (FastAPI style).</summary>
    internal static (string? Message, string? Code, string? Type) ReadError(byte[] content)
    {
        try
        {
            using var document = JsonDocument.Parse(content);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, null, null);
            }

            if (root.TryGetProperty("error", out var error))
            {
                if (error.ValueKind == JsonValueKind.String)
                {
                    return (error.GetString(), null, null);
                }

                if (error.ValueKind == JsonValueKind.Object)
                {
                    return (Text(error, "message") ?? Text(error, "detail"), Text(error, "code"), Text(error, "type"));
                }
            }

            var message = Text(root, "message") ?? Text(root, "detail");
            if (message is null && root.TryGetProperty("detail", out var detail) && detail.ValueKind == JsonValueKind.Array)
            {
                var parts = detail.EnumerateArray().Select(d => d.ValueKind == JsonValueKind.Object ? Text(d, "msg") ?? Text(d, "message") : d.ValueKind == JsonValueKind.String ? d.GetString() : null).OfType<string>();
                message = string.Join("; ", parts);
            }

            return (string.IsNullOrWhiteSpace(message) ? null : message, Text(root, "code"), Text(root, "type"));
        }
        catch (JsonException)
        {
            var text = Encoding.UTF8.GetString(content).Trim();
            return (text.Length == 0 ? null : text, null, null);
        }

        static string? Text(JsonElement element, string name) =>
            element.TryGetProperty(name, out var value) ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetRawText(),
                _ => null,
            } : null;
    }

    private static bool IsPolicy(string? message, string? code, string? type) =>
        PolicyMarkers.Any(marker =>
            (message?.Contains(marker, StringComparison.OrdinalIgnoreCase) ?? false)
            || (code?.Contains(marker, StringComparison.OrdinalIgnoreCase) ?? false)
            || (type?.Contains(marker, StringComparison.OrdinalIgnoreCase) ?? false));

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max] + "…";

    private GenerationException Fail(GenerationException exception)
    {
        LogFailed(_logger, exception.Code, exception.Message);
        Activity.Current?.SetTag("stefna.provider.error", exception.Code);
        return exception;
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Debug, Message = "AIML API generation for job {JobId} with model {Model} (image-to-image: {ImageToImage})")]
    private static partial void LogSending(ILogger logger, Guid jobId, string model, bool imageToImage);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Debug, Message = "AIML API answered {Status} for job {JobId} in {ElapsedMs} ms")]
    private static partial void LogAnswered(ILogger logger, Guid jobId, int status, long elapsedMs);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Warning, Message = "AIML API call failed ({Code}): {Message}")]
    private static partial void LogFailed(ILogger logger, string code, string message);
}
