using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Stefna.Sdk.Testing.Fakes;

/// <summary>A canned answer the <see cref="OpenAIImagesEmulator"/> plays for the next image request, after its key and
/// schema checks pass (a request that fails them is answered 401/400 and does not use up a reply).</summary>
/// <param name="Status">The HTTP status.</param>
/// <param name="Body">The JSON body, sent verbatim.</param>
/// <param name="RetryAfter">A <c>Retry-After</c> header value in seconds.</param>
public sealed record OpenAIScriptedReply(int Status, string Body, int? RetryAfter = null)
{
    /// <summary>An error in OpenAI's documented shape: <c>{"error":{"message","type","param","code"}}</c>.</summary>
    /// <param name="status">The status, e.g. 400, 401, 429, 500.</param>
    /// <param name="message">The message.</param>
    /// <param name="type">The error type, e.g. <c>invalid_request_error</c>.</param>
    /// <param name="code">The error code, e.g. <c>content_policy_violation</c>, <c>rate_limit_exceeded</c>.</param>
    /// <param name="retryAfter">A <c>Retry-After</c> header in seconds.</param>
    /// <returns>The reply.</returns>
    public static OpenAIScriptedReply Error(int status, string message, string type = "invalid_request_error", string? code = null, int? retryAfter = null) =>
        new(status, OpenAIImagesEmulator.ErrorBody(message, type, null, code), retryAfter);

    /// <summary>The 400 OpenAI answers when its safety system refuses a prompt (<c>content_policy_violation</c>).</summary>
    /// <returns>The reply.</returns>
    public static OpenAIScriptedReply ContentPolicy() =>
        Error(400, "Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system.", "image_generation_user_error", "content_policy_violation");

    /// <summary>A 429 rate limit (<c>rate_limit_exceeded</c>) with a <c>Retry-After</c> header.</summary>
    /// <param name="retryAfterSeconds">The header's value.</param>
    /// <returns>The reply.</returns>
    public static OpenAIScriptedReply RateLimited(int retryAfterSeconds = 1) =>
        Error(429, "Rate limit reached for images per minute. Please try again later.", "requests", "rate_limit_exceeded", retryAfterSeconds);
}

/// <summary>An image request the <see cref="OpenAIImagesEmulator"/> received.</summary>
/// <param name="Path">The request path, <c>/v1/images/generations</c> or <c>/v1/images/edits</c>.</param>
/// <param name="Authorization">The <c>Authorization</c> header.</param>
/// <param name="ContentType">The <c>Content-Type</c> header.</param>
/// <param name="Fields">The JSON members or multipart text fields, as text (numbers as written).</param>
/// <param name="Images">The uploaded image files of an edit (field <c>image</c> or <c>image[]</c>), with their part's content type.</param>
/// <param name="Status">The status the emulator answered.</param>
public sealed record OpenAIRecordedRequest(string Path, string? Authorization, string? ContentType, IReadOnlyDictionary<string, string> Fields, IReadOnlyList<(string ContentType, byte[] Bytes)> Images, int Status);

/// <summary>
/// A loopback OpenAI Images API: a real HTTP server on 127.0.0.1 speaking the documented endpoints
/// <c>POST /v1/images/generations</c> (JSON) and <c>POST /v1/images/edits</c> (multipart/form-data with the image
/// file). It checks the bearer key (401 <c>invalid_api_key</c>), the content type and every field against the API
/// reference (400 <c>invalid_request_error</c> naming the <c>param</c>; violations also kept in
/// <see cref="SchemaErrors"/>): known parameters only, <c>prompt</c> required, <c>n</c> 1–10 (1 for dall-e-3),
/// <c>size</c> one the model supports, <c>response_format</c> <c>url</c>/<c>b64_json</c> and refused for the GPT
/// image models (they always return base64), edits only on <c>dall-e-2</c> and the GPT image models and with a PNG,
/// JPEG or WebP image. Successes answer <c>{"created","data":[{"b64_json"|"url"}]}</c>: base64 for the GPT image
/// models and for <c>response_format=b64_json</c>, otherwise (dall-e default) a URL served by the emulator under
/// <c>/files/</c>. Replies queued with <see cref="Enqueue"/> are played first.
/// </summary>
/// <remarks>
/// <code>
/// await using var openai = await OpenAIImagesEmulator.StartAsync();
/// var client = new OpenAI.Images.ImageClient("gpt-image-1", new ApiKeyCredential(openai.ApiKey),
///     new OpenAIClientOptions { Endpoint = openai.BaseUrl }); // BaseUrl ends in /v1
/// openai.Enqueue(OpenAIScriptedReply.RateLimited(), OpenAIScriptedReply.ContentPolicy());
/// </code>
/// </remarks>
public sealed class OpenAIImagesEmulator : IAsyncDisposable
{
    /// <summary>The GPT image models (always base64, sizes 1024x1024, 1536x1024, 1024x1536, auto).</summary>
    public static readonly IReadOnlySet<string> GptImageModels = new HashSet<string>(StringComparer.Ordinal) { "gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5" };

    private static readonly HashSet<string> GenerationFields = ["model", "prompt", "n", "size", "quality", "response_format", "output_format", "output_compression", "background", "moderation", "style", "user", "stream", "partial_images"];
    private static readonly HashSet<string> EditFields = ["model", "prompt", "n", "size", "quality", "response_format", "output_format", "output_compression", "background", "input_fidelity", "user", "stream", "partial_images", "image", "image[]", "mask"];
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
    private static readonly byte[] JpegSignature = [0xFF, 0xD8, 0xFF];
    private LoopbackServer _server = null!;
    private readonly ConcurrentQueue<OpenAIScriptedReply> _script = new();
    private readonly ConcurrentQueue<OpenAIRecordedRequest> _requests = new();
    private readonly ConcurrentQueue<string> _schemaErrors = new();

    private OpenAIImagesEmulator(string apiKey) => ApiKey = apiKey;

    /// <summary>The base URL to give the OpenAI client as its endpoint, e.g. <c>http://127.0.0.1:41234/v1</c>.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>The key the emulator accepts as <c>Authorization: Bearer …</c>.</summary>
    public string ApiKey { get; set; }

    /// <summary>The PNG every successful generation returns (by default a 64×48 <see cref="SampleImages.Png"/>).</summary>
    public byte[] Image { get; set; } = SampleImages.Png(64, 48, seed: 11);

    /// <summary>Every image request received, in order.</summary>
    public IReadOnlyList<OpenAIRecordedRequest> Requests => [.. _requests];

    /// <summary>Every schema violation found in a received request, in order.</summary>
    public IReadOnlyList<string> SchemaErrors => [.. _schemaErrors];

    /// <summary>How many times an image under <c>/files/</c> was downloaded.</summary>
    public int ImageDownloads => _server.Downloads;

    /// <summary>Starts an emulator on a free loopback port.</summary>
    /// <param name="apiKey">The key it accepts.</param>
    /// <returns>The running emulator.</returns>
    public static async Task<OpenAIImagesEmulator> StartAsync(string apiKey = "sk-test-openai-7c41")
    {
        var emulator = new OpenAIImagesEmulator(apiKey);
        emulator._server = await LoopbackServer.StartAsync(
            app =>
            {
                app.MapPost("/v1/images/generations", context => emulator.HandleAsync(context, edit: false));
                app.MapPost("/v1/images/edits", context => emulator.HandleAsync(context, edit: true));
            },
            () => emulator.Image).ConfigureAwait(false);
        emulator.BaseUrl = new Uri(emulator._server.Address, "/v1");
        return emulator;
    }

    /// <summary>Queues replies for the next valid image requests, in order; once used up it answers successes.</summary>
    /// <param name="replies">The replies.</param>
    public void Enqueue(params OpenAIScriptedReply[] replies)
    {
        foreach (var reply in replies)
        {
            _script.Enqueue(reply);
        }
    }

    /// <summary>Checks fields against the Images API reference.</summary>
    /// <param name="fields">The JSON members or multipart text fields.</param>
    /// <param name="images">The uploaded images (edits only).</param>
    /// <param name="edit">Whether this is <c>/v1/images/edits</c>.</param>
    /// <returns>The violations as (param, message); empty when valid.</returns>
    public static IReadOnlyList<(string Param, string Message)> Validate(IReadOnlyDictionary<string, string> fields, IReadOnlyList<(string ContentType, byte[] Bytes)> images, bool edit)
    {
        ArgumentNullException.ThrowIfNull(fields);
        ArgumentNullException.ThrowIfNull(images);
        var errors = new List<(string, string)>();
        var known = edit ? EditFields : GenerationFields;
        foreach (var field in fields.Keys.Where(k => !known.Contains(k)))
        {
            errors.Add((field, $"Unknown parameter: '{field}'."));
        }

        var model = fields.TryGetValue("model", out var m) ? m : (edit ? "dall-e-2" : "dall-e-2");
        var gpt = GptImageModels.Contains(model);
        if (!gpt && model is not ("dall-e-2" or "dall-e-3"))
        {
            errors.Add(("model", $"Invalid value for 'model': '{model}' is not an image model."));
        }

        if (edit && model == "dall-e-3")
        {
            errors.Add(("model", "Image edits support dall-e-2 and the GPT image models only."));
        }

        var maxPrompt = gpt ? 32000 : model == "dall-e-3" ? 4000 : 1000;
        if (!fields.TryGetValue("prompt", out var prompt) || string.IsNullOrWhiteSpace(prompt))
        {
            errors.Add(("prompt", "Missing required parameter: 'prompt'."));
        }
        else if (prompt.Length > maxPrompt)
        {
            errors.Add(("prompt", $"'prompt' is longer than {maxPrompt} characters for {model}."));
        }

        if (fields.TryGetValue("n", out var nText))
        {
            var maxN = model == "dall-e-3" ? 1 : 10;
            if (!int.TryParse(nText, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1 || n > maxN)
            {
                errors.Add(("n", $"'n' must be an integer from 1 to {maxN} for {model}."));
            }
        }

        if (fields.TryGetValue("size", out var size))
        {
            string[] sizes = gpt ? ["1024x1024", "1536x1024", "1024x1536", "auto"]
                : model == "dall-e-3" ? ["1024x1024", "1792x1024", "1024x1792"]
                : ["256x256", "512x512", "1024x1024"];
            if (!sizes.Contains(size, StringComparer.Ordinal))
            {
                errors.Add(("size", $"Invalid value for 'size': '{size}'. Supported for {model}: {string.Join(", ", sizes)}."));
            }
        }

        if (fields.TryGetValue("response_format", out var format))
        {
            if (gpt)
            {
                errors.Add(("response_format", $"'response_format' is not supported for {model}; it always returns base64-encoded images."));
            }
            else if (format is not ("url" or "b64_json"))
            {
                errors.Add(("response_format", "'response_format' must be 'url' or 'b64_json'."));
            }
        }

        if (fields.TryGetValue("output_format", out var output) && (!gpt || output is not ("png" or "jpeg" or "webp")))
        {
            errors.Add(("output_format", "'output_format' is png, jpeg or webp, for the GPT image models only."));
        }

        if (edit)
        {
            if (images.Count == 0)
            {
                errors.Add(("image", "Missing required parameter: 'image' (a file)."));
            }
            else if (!gpt && images.Count > 1)
            {
                errors.Add(("image", "dall-e-2 edits take exactly one image."));
            }

            foreach (var (_, bytes) in images)
            {
                var kind = Sniff(bytes);
                if (kind is null || (!gpt && kind != "png"))
                {
                    errors.Add(("image", gpt ? "Each image must be a PNG, JPEG or WebP file." : "The image must be a valid PNG file."));
                }
            }
        }

        return errors;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync().ConfigureAwait(false);
    }

    internal static string ErrorBody(string message, string type, string? param, string? code) =>
        new JsonObject { ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = param, ["code"] = code } }.ToJsonString();

    private async Task HandleAsync(HttpContext context, bool edit)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        var contentType = context.Request.ContentType;
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        var images = new List<(string, byte[])>();
        int status;
        string body;
        int? retryAfter = null;
        if (authorization != "Bearer " + ApiKey)
        {
            // OpenAI answers a wrong key with 401, type invalid_request_error, code invalid_api_key.
            (status, body) = (401, ErrorBody("Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_request_error", null, "invalid_api_key"));
        }
        else if (await ReadAsync(context, edit, fields, images).ConfigureAwait(false) is { } readError)
        {
            _schemaErrors.Enqueue(readError);
            (status, body) = (400, ErrorBody(readError, "invalid_request_error", null, null));
        }
        else if (Validate(fields, images, edit) is { Count: > 0 } errors)
        {
            foreach (var (param, message) in errors)
            {
                _schemaErrors.Enqueue($"{param}: {message}");
            }

            (status, body) = (400, ErrorBody(string.Join(" ", errors.Select(e => e.Message)), "invalid_request_error", errors[0].Param, null));
        }
        else if (_script.TryDequeue(out var reply))
        {
            (status, body, retryAfter) = (reply.Status, reply.Body, reply.RetryAfter);
        }
        else
        {
            (status, body) = (200, SuccessBody(fields, edit));
        }

        _requests.Enqueue(new OpenAIRecordedRequest(context.Request.Path, authorization, contentType, fields, images, status));
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        if (retryAfter is { } seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }

        await context.Response.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Reads a JSON body (generations) or a multipart form (edits) into fields and files; returns what is wrong, if anything.</summary>
    private static async Task<string?> ReadAsync(HttpContext context, bool edit, Dictionary<string, string> fields, List<(string, byte[])> images)
    {
        if (!edit)
        {
            if (context.Request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) != true)
            {
                return $"Content-Type '{context.Request.ContentType}' is not application/json.";
            }

            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var text = await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false);
            try
            {
                if (JsonNode.Parse(text) is not JsonObject root)
                {
                    return "The body must be a JSON object.";
                }

                foreach (var (key, value) in root)
                {
                    fields[key] = value is null ? "null" : value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString();
                }
            }
            catch (JsonException ex)
            {
                return $"The body is not valid JSON: {ex.Message}";
            }

            return null;
        }

        if (!context.Request.HasFormContentType || context.Request.ContentType?.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase) != true)
        {
            return $"Content-Type '{context.Request.ContentType}' is not multipart/form-data.";
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        foreach (var (key, value) in form)
        {
            fields[key] = value.ToString();
        }

        foreach (var file in form.Files)
        {
            if (file.Name is "image" or "image[]")
            {
                using var copy = new MemoryStream();
                await file.CopyToAsync(copy, context.RequestAborted).ConfigureAwait(false);
                images.Add((file.ContentType ?? string.Empty, copy.ToArray()));
            }
            else if (file.Name != "mask")
            {
                fields[file.Name] = "(file)";
            }
        }

        return null;
    }

    private string SuccessBody(IReadOnlyDictionary<string, string> fields, bool edit)
    {
        var model = fields.TryGetValue("model", out var m) ? m : "dall-e-2";
        var base64 = GptImageModels.Contains(model) || (fields.TryGetValue("response_format", out var f) && f == "b64_json");
        var item = base64
            ? new JsonObject { ["b64_json"] = Convert.ToBase64String(Image) }
            : new JsonObject { ["url"] = _server.NewFileUrl() };
        if (model == "dall-e-3")
        {
            item["revised_prompt"] = fields["prompt"];
        }

        var answer = new JsonObject { ["created"] = 1_700_000_000, ["data"] = new JsonArray(item) };
        if (GptImageModels.Contains(model))
        {
            answer["usage"] = new JsonObject
            {
                ["total_tokens"] = 100,
                ["input_tokens"] = 50,
                ["output_tokens"] = 50,
                ["input_tokens_details"] = new JsonObject { ["text_tokens"] = 10, ["image_tokens"] = edit ? 40 : 0 },
            };
        }

        return answer.ToJsonString();
    }

    private static string? Sniff(byte[] bytes) =>
        bytes.AsSpan().StartsWith(PngSignature) ? "png"
        : bytes.AsSpan().StartsWith(JpegSignature) ? "jpeg"
        : bytes.Length > 12 && bytes.AsSpan(0, 4).SequenceEqual("RIFF"u8) && bytes.AsSpan(8, 4).SequenceEqual("WEBP"u8) ? "webp"
        : null;
}
