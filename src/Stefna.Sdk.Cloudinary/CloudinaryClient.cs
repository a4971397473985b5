using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace Stefna.Sdk.Cloudinary;

/// <summary>
/// Calls Cloudinary's REST Upload API (<c>/v1_1/{cloud}/image/upload</c> and <c>/destroy</c>) with signed requests.
/// Written by hand because the <c>CloudinaryDotNet</c> package is not available to this SDK's feed; only the
/// documented API is used. Rate-limited calls (420/429) wait for the reset (up to
/// <see cref="CloudinaryOptions.MaxRateLimitWait"/>) and retry; 5xx answers and broken connections are retried with
/// back-off; both through a Polly pipeline. Every attempt is signed afresh (Cloudinary refuses stale timestamps).
/// Errors surface as <see cref="CloudinaryException"/>; none repeats the secret or the user info of a URL.
/// </summary>
public sealed class CloudinaryClient
{
    /// <summary>The name of the <see cref="HttpClient"/> this client takes from <see cref="IHttpClientFactory"/>.</summary>
    public const string HttpClientName = "Stefna.Cloudinary";

    private readonly IHttpClientFactory _httpClients;
    private readonly CloudinaryOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<CloudinaryClient> _logger;
    private readonly ResiliencePipeline<HttpResponseMessage> _retries;

    /// <summary>Creates the client.</summary>
    /// <param name="httpClients">Makes the <see cref="HttpClientName"/> client.</param>
    /// <param name="options">The account and behaviour.</param>
    /// <param name="time">The clock (timestamps, waits).</param>
    /// <param name="logger">The logger; the secret is never logged.</param>
    public CloudinaryClient(IHttpClientFactory httpClients, IOptions<CloudinaryOptions> options, TimeProvider time, ILogger<CloudinaryClient> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _httpClients = httpClients ?? throw new ArgumentNullException(nameof(httpClients));
        _options = options.Value;
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _retries = BuildRetries();
    }

    /// <summary>The options in use.</summary>
    public CloudinaryOptions Options => _options;

    /// <summary>Uploads image bytes (multipart <c>file</c> part).</summary>
    /// <param name="content">The encoded image.</param>
    /// <param name="fileName">The file name sent with the part, e.g. <c>image.png</c>.</param>
    /// <param name="parameters">Public id, folder, tags, context, overwrite.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <returns>Cloudinary's answer.</returns>
    /// <exception cref="CloudinaryException">Cloudinary refused the upload or could not be reached.</exception>
    public Task<CloudinaryUploadResult> UploadAsync(ReadOnlyMemory<byte> content, string fileName, CloudinaryUploadParameters parameters, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fileName);
        ArgumentNullException.ThrowIfNull(parameters);
        return UploadCoreAsync(() => new ReadOnlyMemoryContent(content), fileName, parameters, cancellationToken);
    }

    /// <summary>Has Cloudinary fetch an image from a remote http(s) URL (the URL is sent as the <c>file</c> value).</summary>
    /// <param name="remoteUrl">The image's URL.</param>
    /// <param name="parameters">Public id, folder, tags, context, overwrite.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <returns>Cloudinary's answer.</returns>
    /// <exception cref="CloudinaryException">Cloudinary refused the upload or could not be reached.</exception>
    public Task<CloudinaryUploadResult> UploadRemoteAsync(Uri remoteUrl, CloudinaryUploadParameters parameters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(remoteUrl);
        ArgumentNullException.ThrowIfNull(parameters);
        if (!remoteUrl.IsAbsoluteUri || (remoteUrl.Scheme != Uri.UriSchemeHttp && remoteUrl.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException("Only absolute http(s) URLs can be uploaded by URL.", nameof(remoteUrl));
        }

        return UploadCoreAsync(() => new StringContent(remoteUrl.AbsoluteUri, Encoding.UTF8), null, parameters, cancellationToken);
    }

    /// <summary>Deletes an asset (<c>destroy</c>).</summary>
    /// <param name="publicId">The asset's public id, including its folder.</param>
    /// <param name="invalidate">Also purge cached copies from the CDN.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when Cloudinary answered <c>ok</c>, <see langword="false"/> for <c>not found</c>.</returns>
    /// <exception cref="CloudinaryException">Cloudinary refused the call, answered another result, or could not be reached.</exception>
    public async Task<bool> DestroyAsync(string publicId, bool invalidate, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(publicId);
        using var json = await SendSignedAsync(
            "destroy",
            () =>
            {
                var parameters = new List<KeyValuePair<string, string>> { new("public_id", publicId) };
                if (invalidate)
                {
                    parameters.Add(new("invalidate", "true"));
                }

                return parameters;
            },
            null,
            null,
            cancellationToken).ConfigureAwait(false);
        var result = json.RootElement.TryGetProperty("result", out var r) ? r.GetString() : null;
        switch (result)
        {
            case "ok":
                Log.Destroyed(_logger, publicId);
                return true;
            case "not found":
                return false;
            default:
                throw new CloudinaryException("destroy", HttpStatusCode.OK, $"Unexpected destroy result '{result}'.");
        }
    }

    /// <summary>Downloads an asset from its delivery URL, capped at <see cref="CloudinaryOptions.MaxReadBytes"/>.</summary>
    /// <param name="url">The delivery URL.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    /// <returns>The body.</returns>
    /// <exception cref="CloudinaryException">The download failed or the body is too large.</exception>
    public async Task<byte[]> DownloadAsync(Uri url, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(url);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.UploadTimeout);
        try
        {
            using var client = _httpClients.CreateClient(HttpClientName);
            using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new CloudinaryException("download", response.StatusCode, $"Downloading '{Shown(url)}' answered {(int)response.StatusCode}.");
            }

            if (response.Content.Headers.ContentLength > _options.MaxReadBytes)
            {
                throw new CloudinaryException("download", response.StatusCode, $"'{Shown(url)}' is larger than {_options.MaxReadBytes} bytes.");
            }

            await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = await stream.ReadAsync(chunk, timeout.Token).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > _options.MaxReadBytes)
                {
                    throw new CloudinaryException("download", response.StatusCode, $"'{Shown(url)}' is larger than {_options.MaxReadBytes} bytes.");
                }

                buffer.Write(chunk, 0, read);
            }

            return buffer.ToArray();
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CloudinaryException("download", null, $"Downloading '{Shown(url)}' did not finish within {_options.UploadTimeout}.", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new CloudinaryException("download", null, $"Downloading '{Shown(url)}' failed: {Redact(ex.Message)}", ex);
        }
    }

    /// <summary>Formats context metadata as Cloudinary expects: <c>key=value|key2=value2</c>, escaping <c>=</c> and <c>|</c> in values.</summary>
    internal static string FormatContext(IReadOnlyDictionary<string, string> context)
    {
        var parts = new List<string>(context.Count);
        foreach (var (key, value) in context)
        {
            if (key.Length == 0 || key.AsSpan().IndexOfAny('=', '|') >= 0)
            {
                throw new ArgumentException($"Context key '{key}' must be non-empty and contain neither '=' nor '|'.", nameof(context));
            }

            var escaped = (value ?? string.Empty).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("=", "\\=", StringComparison.Ordinal).Replace("|", "\\|", StringComparison.Ordinal);
            parts.Add(key + "=" + escaped);
        }

        return string.Join('|', parts);
    }

    internal static List<KeyValuePair<string, string>> UploadParameters(CloudinaryUploadParameters parameters)
    {
        var list = new List<KeyValuePair<string, string>>();
        if (!string.IsNullOrEmpty(parameters.PublicId))
        {
            list.Add(new("public_id", parameters.PublicId));
        }

        if (!string.IsNullOrEmpty(parameters.Folder))
        {
            list.Add(new("folder", parameters.Folder));
        }

        if (parameters.Tags.Count > 0)
        {
            foreach (var tag in parameters.Tags)
            {
                if (tag.Contains(',', StringComparison.Ordinal))
                {
                    throw new ArgumentException($"Tag '{tag}' must not contain a comma.", nameof(parameters));
                }
            }

            list.Add(new("tags", string.Join(',', parameters.Tags)));
        }

        if (parameters.Context.Count > 0)
        {
            list.Add(new("context", FormatContext(parameters.Context)));
        }

        if (parameters.Overwrite is { } overwrite)
        {
            list.Add(new("overwrite", overwrite ? "true" : "false"));
        }

        return list;
    }

    private async Task<CloudinaryUploadResult> UploadCoreAsync(Func<HttpContent> file, string? fileName, CloudinaryUploadParameters parameters, CancellationToken cancellationToken)
    {
        var fields = UploadParameters(parameters);
        var started = _time.GetTimestamp();
        using var json = await SendSignedAsync("upload", () => fields, file, fileName, cancellationToken).ConfigureAwait(false);
        var result = ParseUpload(json.RootElement);
        Log.Uploaded(_logger, result.PublicId, result.Bytes, (long)_time.GetElapsedTime(started).TotalMilliseconds);
        return result;
    }

    private async Task<JsonDocument> SendSignedAsync(
        string operation,
        Func<IReadOnlyList<KeyValuePair<string, string>>> parameters,
        Func<HttpContent>? file,
        string? fileName,
        CancellationToken cancellationToken)
    {
        var endpoint = new Uri($"{_options.ApiBaseUrl.TrimEnd('/')}/v1_1/{_options.CloudName}/image/{operation}");
        var context = ResilienceContextPool.Shared.Get(operation, cancellationToken);
        HttpResponseMessage response;
        try
        {
            // Each attempt builds and signs its form afresh: a new timestamp, and a new content (a sent one is spent).
            response = await _retries.ExecuteAsync(
                async (ctx, state) =>
                {
                    using var form = BuildForm(state.parameters(), state.file, state.fileName);
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ctx.CancellationToken);
                    timeout.CancelAfter(_options.UploadTimeout);
                    try
                    {
                        using var client = _httpClients.CreateClient(HttpClientName);
                        return await client.PostAsync(state.endpoint, form, timeout.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException ex) when (!ctx.CancellationToken.IsCancellationRequested)
                    {
                        throw new CloudinaryException(ctx.OperationKey ?? "request", null, $"No answer within {_options.UploadTimeout} (CloudinaryOptions.UploadTimeout).", ex);
                    }
                },
                context,
                (parameters, file, fileName, endpoint)).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new CloudinaryException(operation, null, $"Cloudinary could not be reached at {CloudinaryOptions.RedactUserInfo(_options.ApiBaseUrl)}: {Redact(ex.Message)}", ex);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }

        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                try
                {
                    return JsonDocument.Parse(body);
                }
                catch (JsonException ex)
                {
                    throw new CloudinaryException(operation, response.StatusCode, "Cloudinary answered with malformed JSON.", ex);
                }
            }

            var status = (int)response.StatusCode;
            var message = Redact(ErrorMessage(body) ?? response.ReasonPhrase ?? "no error message");
            Log.Failed(_logger, operation, status, message);
            if (IsRateLimit(response))
            {
                throw new CloudinaryRateLimitedException(operation, response.StatusCode, message, RateLimitWait(response));
            }

            throw new CloudinaryException(operation, response.StatusCode, message);
        }
    }

    /// <summary>
    /// The retries, on Polly (a served, well-kept library) rather than a loop of our own. Two retry strategies: the
    /// outer one waits out rate limits (420/429) for the reset Cloudinary announces, up to
    /// <see cref="CloudinaryOptions.MaxRateLimitRetries"/> times and only while the reset is within
    /// <see cref="CloudinaryOptions.MaxRateLimitWait"/>; the inner one retries 5xx answers and broken connections with
    /// exponential back-off from <see cref="CloudinaryOptions.ServerErrorBackoff"/>, up to
    /// <see cref="CloudinaryOptions.MaxServerErrorRetries"/> times. They run around the callback that builds the signed
    /// form, which is why this is a <see cref="ResiliencePipeline{T}"/> and not an <c>HttpClient</c> resilience handler:
    /// a handler would resend the first attempt's form with its stale timestamp and signature. Waits run on the client's
    /// <see cref="TimeProvider"/>.
    /// </summary>
    private ResiliencePipeline<HttpResponseMessage> BuildRetries()
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = _time };
        if (_options.MaxRateLimitRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                Name = "cloudinary-rate-limit",
                MaxRetryAttempts = _options.MaxRateLimitRetries,
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Result is { } response && IsRateLimit(response) && RateLimitDelay(response) <= _options.MaxRateLimitWait),
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(RateLimitDelay(args.Outcome.Result!)),
                OnRetry = args =>
                {
                    Log.RateLimited(_logger, args.Context.OperationKey ?? "request", (int)args.Outcome.Result!.StatusCode, args.RetryDelay, args.AttemptNumber + 1);
                    return ValueTask.CompletedTask;
                },
            });
        }

        if (_options.MaxServerErrorRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                Name = "cloudinary-server-error",
                MaxRetryAttempts = _options.MaxServerErrorRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = false,
                Delay = _options.ServerErrorBackoff,
                MaxDelay = null,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome switch
                {
                    { Exception: HttpRequestException } => true,
                    { Result: { } response } => (int)response.StatusCode >= 500,
                    _ => false,
                }),
                OnRetry = args =>
                {
                    var status = args.Outcome.Result is { } response ? (int)response.StatusCode : 0;
                    var message = args.Outcome.Exception is { } ex ? Redact(ex.Message) : args.Outcome.Result?.ReasonPhrase ?? string.Empty;
                    Log.Retrying(_logger, args.Context.OperationKey ?? "request", status, args.RetryDelay, args.AttemptNumber + 1, message);
                    return ValueTask.CompletedTask;
                },
            });
        }

        return builder.Build();
    }

    private static bool IsRateLimit(HttpResponseMessage response) => (int)response.StatusCode is 420 or 429;

    // The announced reset, or 1 s when Cloudinary sends none.
    private TimeSpan RateLimitDelay(HttpResponseMessage response) => RateLimitWait(response) ?? TimeSpan.FromSeconds(1);

    private MultipartFormDataContent BuildForm(IReadOnlyList<KeyValuePair<string, string>> parameters, Func<HttpContent>? file, string? fileName)
    {
        var signed = new List<KeyValuePair<string, string>>(parameters)
        {
            new("timestamp", _time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)),
        };
        if (_options.SignatureAlgorithm == CloudinarySignatureAlgorithm.Sha256)
        {
            signed.Add(new("signature_algorithm", "sha256"));
        }

        var signature = CloudinarySignature.Sign(signed, _options.ApiSecret, _options.SignatureAlgorithm);
        var form = new MultipartFormDataContent();
        if (file is not null)
        {
            var part = file();
            if (fileName is null)
            {
                form.Add(part, "file");
            }
            else
            {
                part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                form.Add(part, "file", fileName);
            }
        }

        foreach (var (name, value) in signed)
        {
            form.Add(new StringContent(value, Encoding.UTF8), name);
        }

        form.Add(new StringContent(_options.ApiKey, Encoding.UTF8), "api_key");
        form.Add(new StringContent(signature, Encoding.UTF8), "signature");
        return form;
    }

    // Cloudinary says when the limit resets in X-RateLimit-Reset (an HTTP date, epoch seconds or seconds to wait);
    // proxies and the standard say Retry-After.
    private TimeSpan? RateLimitWait(HttpResponseMessage response)
    {
        var now = _time.GetUtcNow();
        if (response.Headers.RetryAfter is { } retryAfter)
        {
            if (retryAfter.Delta is { } delta)
            {
                return Clamp(delta);
            }

            if (retryAfter.Date is { } date)
            {
                return Clamp(date - now);
            }
        }

        foreach (var header in new[] { "X-RateLimit-Reset", "X-FeatureRateLimit-Reset" })
        {
            if (response.Headers.TryGetValues(header, out var values) && values.FirstOrDefault() is { } text)
            {
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
                {
                    return Clamp(number > 1_000_000_000 ? DateTimeOffset.FromUnixTimeMilliseconds((long)(number * 1000)) - now : TimeSpan.FromSeconds(number));
                }

                if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var reset))
                {
                    return Clamp(reset - now);
                }
            }
        }

        return null;
    }

    private static TimeSpan Clamp(TimeSpan value) => value < TimeSpan.Zero ? TimeSpan.Zero : value;

    private static string? ErrorMessage(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("error", out var error)
                && error.ValueKind == JsonValueKind.Object
                && error.TryGetProperty("message", out var message)
                ? message.GetString()
                : null;
        }
        catch (JsonException)
        {
            return body.Length == 0 ? null : body[..Math.Min(body.Length, 300)];
        }
    }

    // Defensive: whatever an error message holds, it never carries the secret (nor a URL's user info) into logs or exceptions.
    private string Redact(string text) => CloudinaryOptions.RedactUserInfo(
        _options.ApiSecret.Length > 0 ? text.Replace(_options.ApiSecret, "***", StringComparison.Ordinal) : text);

    private static string Shown(Uri url) => CloudinaryOptions.RedactUserInfo(url.OriginalString);

    private static CloudinaryUploadResult ParseUpload(JsonElement root)
    {
        string? Str(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        long? Long(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : null;

        var publicId = Str("public_id");
        var secureUrl = Str("secure_url") ?? Str("url");
        if (publicId is null || secureUrl is null)
        {
            throw new CloudinaryException("upload", HttpStatusCode.OK, "The upload answer has no public_id or secure_url.");
        }

        var tags = root.TryGetProperty("tags", out var t) && t.ValueKind == JsonValueKind.Array
            ? t.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToList()
            : [];
        DateTimeOffset? created = DateTimeOffset.TryParse(Str("created_at"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var c) ? c : null;
        return new CloudinaryUploadResult(
            publicId,
            Long("version") ?? 0,
            secureUrl,
            Str("url"),
            (int?)Long("width"),
            (int?)Long("height"),
            Str("format"),
            Long("bytes") ?? 0,
            Str("resource_type"),
            Str("signature"),
            created,
            tags);
    }
}

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Debug, "Cloudinary upload stored {PublicId} ({Bytes} bytes) in {ElapsedMs} ms")]
    public static partial void Uploaded(ILogger logger, string publicId, long bytes, long elapsedMs);

    [LoggerMessage(2, LogLevel.Warning, "Cloudinary {Operation} rate limited ({Status}); waiting {Delay} for the reset (retry {Retry})")]
    public static partial void RateLimited(ILogger logger, string operation, int status, TimeSpan delay, int retry);

    [LoggerMessage(3, LogLevel.Warning, "Cloudinary {Operation} failed ({Status}); retrying after {Delay} (retry {Retry}): {Message}")]
    public static partial void Retrying(ILogger logger, string operation, int status, TimeSpan delay, int retry, string message);

    [LoggerMessage(4, LogLevel.Warning, "Cloudinary {Operation} failed with {Status}: {Message}")]
    public static partial void Failed(ILogger logger, string operation, int status, string message);

    [LoggerMessage(5, LogLevel.Debug, "Cloudinary destroyed {PublicId}")]
    public static partial void Destroyed(ILogger logger, string publicId);
}
