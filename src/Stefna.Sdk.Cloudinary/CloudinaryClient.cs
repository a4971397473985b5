using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;

namespace Stefna.Sdk.Cloudinary;

/// <summary>
/// Calls Cloudinary's REST Upload API (<c>/v1_1/{cloud}/image/upload</c> and <c>/destroy</c>) with signed requests.
/// Written by hand because the <c>CloudinaryDotNet</c> package is not available to this SDK's feed; only the
/// documented API is used. Rate-limited calls (420/429) wait for the reset (up to
/// <see cref="CloudinaryOptions.MaxRateLimitWait"/>) and retry; 5xx answers and broken connections are retried with
/// back-off; both through a Polly pipeline. Every attempt is signed afresh (Cloudinary refuses stale timestamps).
/// Errors surface as <see cref="CloudinaryException"/>; none repeats the secret or the user info of a URL.
/// </summary>
public sealed partial class CloudinaryClient
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

    // Defensive: whatever an error message holds, it never carries the secret (nor a URL's user info) into logs or exceptions.
    private string Redact(string text) => CloudinaryOptions.RedactUserInfo(
        _options.ApiSecret.Length > 0 ? text.Replace(_options.ApiSecret, "***", StringComparison.Ordinal) : text);

    private static string Shown(Uri url) => CloudinaryOptions.RedactUserInfo(url.OriginalString);
}
