using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Stefna.Sdk.Testing.Fakes;

/// <summary>How the <see cref="AimlApiEmulator"/> returns a successful generation: the three answer shapes the AIML API uses.</summary>
public enum AimlImageFormat
{
    /// <summary><c>{"data":[{"url":…}]}</c>, the URL served by the emulator itself.</summary>
    DataUrl,

    /// <summary><c>{"data":[{"b64_json":…}]}</c>.</summary>
    DataB64Json,

    /// <summary><c>{"images":[{"url":…,"content_type":…}]}</c> (fal-style models).</summary>
    ImagesArray,
}

/// <summary>
/// A canned answer the <see cref="AimlApiEmulator"/> plays for the next generation request, after its key and schema
/// checks pass (a request that fails them is answered 401/415/400 and does not use up a reply).
/// </summary>
/// <param name="Status">The HTTP status (ignored when <paramref name="Body"/> is <see langword="null"/>).</param>
/// <param name="Body">The JSON body, sent verbatim; <see langword="null"/> for the emulator's own 200 success answer.</param>
/// <param name="RetryAfter">A <c>Retry-After</c> header value in seconds.</param>
/// <param name="Delay">How long to wait before answering.</param>
public sealed record AimlScriptedReply(int Status, string? Body, int? RetryAfter = null, TimeSpan? Delay = null)
{
    /// <summary>An OpenAI-style error: <c>{"error":{"message","type","code"}}</c>.</summary>
    /// <param name="status">The status.</param>
    /// <param name="message">The message.</param>
    /// <param name="code">The error code.</param>
    /// <param name="type">The error type.</param>
    /// <returns>The reply.</returns>
    public static AimlScriptedReply Error(int status, string message, string? code = null, string? type = null) =>
        new(status, new JsonObject { ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["code"] = code } }.ToJsonString());

    /// <summary>The emulator's normal success answer.</summary>
    /// <returns>The reply.</returns>
    public static AimlScriptedReply Success() => new(200, null);
}

/// <summary>A generation request the <see cref="AimlApiEmulator"/> received.</summary>
/// <param name="ReceivedAt">When it arrived (UTC), taken as the emulator began handling it.</param>
/// <param name="Authorization">The <c>Authorization</c> header.</param>
/// <param name="ContentType">The <c>Content-Type</c> header.</param>
/// <param name="Body">The raw body.</param>
/// <param name="Status">The status the emulator answered (or was to answer after a scripted <see cref="AimlScriptedReply.Delay"/>
/// when the caller gave up first). Recorded before the answer is written, so a caller that has its answer finds it.</param>
public sealed record AimlRecordedRequest(DateTimeOffset ReceivedAt, string? Authorization, string? ContentType, string Body, int Status)
{
    /// <summary>The body parsed as a JSON object.</summary>
    /// <exception cref="JsonException">The body is not JSON.</exception>
    public JsonObject Json => JsonNode.Parse(Body)!.AsObject();
}

/// <summary>
/// A loopback AIML API: a real HTTP server on 127.0.0.1 speaking the documented image endpoint
/// <c>POST /v1/images/generations</c>. It checks the bearer key (401 <c>invalid_api_key</c> otherwise), the
/// <c>Content-Type</c> (415) and the JSON body against the documented schema (400 with the schema errors, also kept in
/// <see cref="SchemaErrors"/>); plays the replies queued with <see cref="Enqueue"/> in order; and otherwise answers
/// <see cref="Image"/> in the configured <see cref="Format"/>. Image URLs it returns are served by itself under
/// <c>/files/</c>. Every generation request is recorded in <see cref="Requests"/>.
/// </summary>
/// <remarks>
/// <para>Part of the conformance kit so that a host, a sample or a plug-in's tests can run a generation type against
/// the HTTP provider with no account and no network. It only speaks the HTTP shapes: it needs the ASP.NET Core shared
/// framework (Kestrel), not the <c>Stefna.Sdk.Providers.AimlApi</c> package. Point the provider at it like this:</para>
/// <code>
/// await using var aiml = await AimlApiEmulator.StartAsync();
/// services.AddStefna()
///     .UseAimlApi(o =&gt;
///     {
///         o.ApiKey = aiml.ApiKey;
///         o.BaseUrl = aiml.BaseUrl;
///     });
/// aiml.Enqueue(AimlScriptedReply.Error(503, "down"), AimlScriptedReply.Success()); // one failure, then an image
/// </code>
/// <para>State lives in memory for the emulator's lifetime; dispose it to stop the server.</para>
/// <para><b>Asynchronous generations (kit only).</b> The AIML API documents no asynchronous mode for image generation:
/// <c>POST /v1/images/generations</c> answers with the image. Its asynchronous shape is documented for video generation
/// only (<c>POST /v2/video/generations</c> answers <c>{ id, status }</c>; <c>GET /v2/video/generations?generation_id=…</c>
/// answers the status, then the result). To prove the engine's parking over real HTTP, the emulator also offers that
/// documented shape for images at <c>/v2/images/generations</c>, a path the real AIML API does not have:
/// <c>POST</c> (same key and JSON checks, body <c>{ model, prompt }</c>) answers <c>{ id, status: "queued" }</c> and counts
/// the submit (<see cref="AsyncSubmits"/>, per <c>Idempotency-Key</c> header in <see cref="AsyncSubmitsByKey"/>);
/// <c>GET ?generation_id=</c> answers <c>generating</c> until <see cref="CompleteAsyncGenerations"/> is called, then
/// <c>completed</c> with <c>data[0].b64_json</c> (<see cref="Image"/>); <c>DELETE ?generation_id=</c> cancels
/// (<see cref="AsyncCancels"/>). Unknown ids answer 404.</para>
/// </remarks>
public sealed class AimlApiEmulator : IAsyncDisposable
{
    private LoopbackServer _server = null!;
    private readonly ConcurrentQueue<AimlScriptedReply> _script = new();
    private readonly ConcurrentQueue<AimlRecordedRequest> _requests = new();
    private readonly ConcurrentQueue<string> _schemaErrors = new();
    private readonly ConcurrentDictionary<string, string> _generations = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _submitsByKey = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _cancels = new();
    private int _asyncSubmits;
    private int _asyncPolls;
    private volatile bool _asyncComplete;

    private AimlApiEmulator(string apiKey) => ApiKey = apiKey;

    /// <summary>The base URL to configure the provider with, e.g. <c>http://127.0.0.1:41234/</c> (no API path).</summary>
    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>The key the emulator accepts as <c>Authorization: Bearer …</c>; set it to simulate a rotated key.</summary>
    public string ApiKey { get; set; }

    /// <summary>The PNG every successful generation returns (by default a 64×48 <see cref="SampleImages.Png"/>).</summary>
    public byte[] Image { get; set; } = SampleImages.Png(64, 48, seed: 7);

    /// <summary>How successful generations are returned; <see cref="AimlImageFormat.DataUrl"/> by default.</summary>
    public AimlImageFormat Format { get; set; } = AimlImageFormat.DataUrl;

    /// <summary>Every generation request received, in order.</summary>
    public IReadOnlyList<AimlRecordedRequest> Requests => [.. _requests];

    /// <summary>Every schema violation found in a received request (body or <c>Content-Type</c>), in order.</summary>
    public IReadOnlyList<string> SchemaErrors => [.. _schemaErrors];

    /// <summary>How many asynchronous generations were submitted (<c>POST /v2/images/generations</c> answered 200).</summary>
    public int AsyncSubmits => Volatile.Read(ref _asyncSubmits);

    /// <summary>Asynchronous submits per <c>Idempotency-Key</c> request header (submits without one are not listed).</summary>
    public IReadOnlyDictionary<string, int> AsyncSubmitsByKey => new Dictionary<string, int>(_submitsByKey, StringComparer.Ordinal);

    /// <summary>How many status reads of asynchronous generations were answered.</summary>
    public int AsyncPolls => Volatile.Read(ref _asyncPolls);

    /// <summary>The generation ids canceled with <c>DELETE</c>, in order.</summary>
    public IReadOnlyList<string> AsyncCancels => [.. _cancels];

    /// <summary>From now on, every asynchronous generation (submitted or to come) reads as completed.</summary>
    public void CompleteAsyncGenerations() => _asyncComplete = true;

    /// <summary>How many times an image under <c>/files/</c> was downloaded.</summary>
    public int ImageDownloads => _server.Downloads;

    /// <summary>Starts an emulator on a free loopback port.</summary>
    /// <param name="apiKey">The key it accepts (see <see cref="ApiKey"/>).</param>
    /// <returns>The running emulator.</returns>
    public static async Task<AimlApiEmulator> StartAsync(string apiKey = "aiml-test-key-5f1d2c")
    {
        var emulator = new AimlApiEmulator(apiKey);
        emulator._server = await LoopbackServer.StartAsync(
            app =>
            {
                app.MapPost("/v1/images/generations", emulator.GenerateAsync);
                app.MapPost("/v2/images/generations", emulator.SubmitAsyncGenerationAsync);
                app.MapGet("/v2/images/generations", emulator.ReadAsyncGenerationAsync);
                app.MapDelete("/v2/images/generations", emulator.CancelAsyncGenerationAsync);
            },
            () => emulator.Image).ConfigureAwait(false);
        emulator.BaseUrl = emulator._server.Address;
        return emulator;
    }

    /// <summary>Queues replies for the next generation requests, in order; once they are used up it answers successes.</summary>
    /// <param name="replies">The replies.</param>
    public void Enqueue(params AimlScriptedReply[] replies)
    {
        foreach (var reply in replies)
        {
            _script.Enqueue(reply);
        }
    }

    /// <summary>
    /// Checks a body against its model's request schema as the AIML API documents it (<c>aimlapi/api-docs</c>, see
    /// <see cref="SchemaRevision"/>): a documented model, only that model's documented fields, each within its
    /// documented type and range (e.g. <c>seed</c> ≥ 1, <c>image_size</c> only where the model has one, <c>image_url</c>
    /// an http(s) URL, <c>strength</c> optional), and the model's required fields.
    /// </summary>
    /// <param name="body">The raw body.</param>
    /// <returns>The violations; empty when valid.</returns>
    public static IReadOnlyList<string> ValidateBody(string body)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(body);
        }
        catch (JsonException ex)
        {
            return [$"body is not JSON: {ex.Message}"];
        }

        return node is JsonObject root ? AimlApiSchemas.Validate(root) : ["body must be a JSON object"];
    }

    /// <summary>The <c>aimlapi/api-docs</c> revision whose schemas <see cref="ValidateBody"/> follows.</summary>
    public static string SchemaRevision => AimlApiSchemas.Revision;

    /// <summary>The models whose documented schemas the emulator knows.</summary>
    public static IReadOnlyCollection<string> DocumentedModels => [.. AimlApiSchemas.Models.Keys];

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync().ConfigureAwait(false);
    }

    private async Task GenerateAsync(HttpContext context)
    {
        // The arrival time is taken here and the request is recorded before it is answered: a caller that has its answer
        // (and a retry sent right after it) always finds it in Requests, in arrival order, with when it arrived.
        var receivedAt = DateTimeOffset.UtcNow;
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false);
        var authorization = context.Request.Headers.Authorization.ToString();
        var contentType = context.Request.ContentType;
        int status;
        string answer;
        TimeSpan? delay = null;
        if (authorization != "Bearer " + ApiKey)
        {
            (status, answer) = (401, """{"error":{"message":"Invalid API key provided.","type":"authentication_error","code":"invalid_api_key"}}""");
        }
        else if (contentType is null || !contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            (status, answer) = (415, """{"error":{"message":"Content-Type must be application/json."}}""");
            _schemaErrors.Enqueue($"Content-Type '{contentType}' is not application/json");
        }
        else if (ValidateBody(body) is { Count: > 0 } errors)
        {
            foreach (var error in errors)
            {
                _schemaErrors.Enqueue(error);
            }

            (status, answer) = (400, new JsonObject { ["error"] = new JsonObject { ["message"] = string.Join("; ", errors), ["type"] = "invalid_request_error" } }.ToJsonString());
        }
        else if (_script.TryDequeue(out var reply) && reply.Body is not null)
        {
            (status, answer, delay) = (reply.Status, reply.Body, reply.Delay);
            if (reply.RetryAfter is { } seconds)
            {
                context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            }
        }
        else
        {
            (status, answer, delay) = (200, SuccessBody(JsonNode.Parse(body)!.AsObject()), reply?.Delay);
        }

        _requests.Enqueue(new AimlRecordedRequest(receivedAt, authorization, contentType, body, status));
        if (delay is { } wait)
        {
            await Task.Delay(wait, context.RequestAborted).ConfigureAwait(false);
        }

        await WriteAsync(context, status, answer).ConfigureAwait(false);
    }

    private async Task SubmitAsyncGenerationAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false);
        if (!await AuthorizedAsync(context).ConfigureAwait(false))
        {
            return;
        }

        JsonObject? request = null;
        try
        {
            request = JsonNode.Parse(body) as JsonObject;
        }
        catch (JsonException)
        {
        }

        if (request?["model"] is null || request["prompt"] is null)
        {
            _schemaErrors.Enqueue("async generation body needs model and prompt");
            await WriteAsync(context, 400, """{"error":{"message":"model and prompt are required.","type":"invalid_request_error"}}""").ConfigureAwait(false);
            return;
        }

        var id = "gen-" + Guid.NewGuid().ToString("N");
        _generations[id] = "queued";
        Interlocked.Increment(ref _asyncSubmits);
        if (context.Request.Headers["Idempotency-Key"].ToString() is { Length: > 0 } key)
        {
            _submitsByKey.AddOrUpdate(key, 1, (_, n) => n + 1);
        }

        await WriteAsync(context, 200, new JsonObject { ["id"] = id, ["status"] = "queued" }.ToJsonString()).ConfigureAwait(false);
    }

    private async Task ReadAsyncGenerationAsync(HttpContext context)
    {
        if (!await AuthorizedAsync(context).ConfigureAwait(false))
        {
            return;
        }

        var id = context.Request.Query["generation_id"].ToString();
        if (!_generations.TryGetValue(id, out var status))
        {
            await WriteAsync(context, 404, """{"error":{"message":"Generation not found.","type":"not_found"}}""").ConfigureAwait(false);
            return;
        }

        Interlocked.Increment(ref _asyncPolls);
        var answer = new JsonObject { ["id"] = id };
        if (status == "canceled")
        {
            answer["status"] = "canceled";
        }
        else if (_asyncComplete)
        {
            answer["status"] = "completed";
            answer["data"] = new JsonArray(new JsonObject { ["b64_json"] = Convert.ToBase64String(Image) });
        }
        else
        {
            _generations[id] = "generating";
            answer["status"] = "generating";
        }

        await WriteAsync(context, 200, answer.ToJsonString()).ConfigureAwait(false);
    }

    private async Task CancelAsyncGenerationAsync(HttpContext context)
    {
        if (!await AuthorizedAsync(context).ConfigureAwait(false))
        {
            return;
        }

        var id = context.Request.Query["generation_id"].ToString();
        if (!_generations.ContainsKey(id))
        {
            await WriteAsync(context, 404, """{"error":{"message":"Generation not found.","type":"not_found"}}""").ConfigureAwait(false);
            return;
        }

        _generations[id] = "canceled";
        _cancels.Enqueue(id);
        await WriteAsync(context, 200, new JsonObject { ["id"] = id, ["status"] = "canceled" }.ToJsonString()).ConfigureAwait(false);
    }

    private async Task<bool> AuthorizedAsync(HttpContext context)
    {
        if (context.Request.Headers.Authorization.ToString() == "Bearer " + ApiKey)
        {
            return true;
        }

        await WriteAsync(context, 401, """{"error":{"message":"Invalid API key provided.","type":"authentication_error","code":"invalid_api_key"}}""").ConfigureAwait(false);
        return false;
    }

    private string SuccessBody(JsonObject request)
    {
        var url = _server.NewFileUrl();
        var seed = request["seed"]?.GetValue<long>() ?? 42;
        JsonObject answer = Format switch
        {
            AimlImageFormat.DataB64Json => new() { ["data"] = new JsonArray(new JsonObject { ["b64_json"] = Convert.ToBase64String(Image) }), ["seed"] = seed },
            AimlImageFormat.ImagesArray => new()
            {
                ["images"] = new JsonArray(new JsonObject { ["url"] = url, ["width"] = 64, ["height"] = 48, ["content_type"] = "image/png" }),
                ["seed"] = seed,
                ["has_nsfw_concepts"] = new JsonArray(false),
            },
            _ => new() { ["data"] = new JsonArray(new JsonObject { ["url"] = url }), ["seed"] = seed },
        };
        return answer.ToJsonString();
    }

    private static async Task WriteAsync(HttpContext context, int status, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }
}
