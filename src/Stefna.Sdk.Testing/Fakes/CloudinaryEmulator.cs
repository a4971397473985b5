using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Stefna.Sdk.Imaging;

namespace Stefna.Sdk.Testing.Fakes;

/// <summary>One request the <see cref="CloudinaryEmulator"/> received.</summary>
/// <param name="Operation"><c>upload</c>, <c>destroy</c> or <c>download</c>.</param>
/// <param name="Fields">The form fields (not the file part).</param>
/// <param name="File">The uploaded bytes, or for a remote upload the bytes fetched from the URL.</param>
/// <param name="RemoteUrl">The URL given as <c>file</c>, for uploads by URL.</param>
/// <param name="SignatureValid">Whether the signature matched the emulator's own computation.</param>
/// <param name="StringToSign">The string the emulator signed (without the secret).</param>
/// <param name="StatusCode">The status the emulator answered.</param>
/// <param name="ReceivedAt">When it arrived.</param>
public sealed record CloudinaryEmulatorRequest(
    string Operation,
    IReadOnlyDictionary<string, string> Fields,
    byte[]? File,
    string? RemoteUrl,
    bool SignatureValid,
    string StringToSign,
    int StatusCode,
    DateTimeOffset ReceivedAt)
{
    /// <summary>The <c>X-RateLimit-Reset</c> value the emulator answered with, for a rate-limited request.</summary>
    public string? RateLimitReset { get; init; }
}

/// <summary>An asset the emulator holds.</summary>
/// <param name="PublicId">The public id, folder included.</param>
/// <param name="Bytes">The content.</param>
/// <param name="Format">The format.</param>
/// <param name="Version">The version.</param>
/// <param name="Tags">The tags.</param>
/// <param name="Context">The parsed context.</param>
public sealed record CloudinaryEmulatorAsset(string PublicId, byte[] Bytes, string Format, long Version, IReadOnlyList<string> Tags, IReadOnlyDictionary<string, string> Context);

/// <summary>
/// A loopback Cloudinary: a real HTTP server on 127.0.0.1 speaking the documented Upload API for one cloud.
/// <c>POST /v1_1/{cloud}/image/upload</c> (multipart; <c>file</c> as bytes or an http URL it fetches, loopback only),
/// <c>POST /v1_1/{cloud}/image/destroy</c>, and delivery at <c>GET /{cloud}/image/upload/…</c>. It recomputes every
/// signature with the secret it knows (its own implementation of the documented rule, "signature version 2" as the
/// official SDKs sign: <c>&amp;</c> inside a value counts as <c>%26</c>; independent of the SDK's code) and answers a
/// wrong one with 401 <c>{"error":{"message":"Invalid Signature …"}}</c>; checks the api_key and the timestamp's
/// freshness; checks the <c>s--…--</c> signature of a signed delivery URL (8 characters of SHA-1 or SHA-256, or 32 of
/// SHA-256) and answers a wrong one with 401; records every request; and can be told to answer 429 with a reset header
/// N times (or on a share of calls at random), the reset given as it is or as an HTTP date computed when it answers;
/// counts uploads, destroy calls, assets destroyed and 429s. Its clock is a
/// <see cref="TimeProvider"/>, so a test can run it on the same fake clock as the client.
/// </summary>
/// <remarks>
/// <para>Part of the conformance kit so that hosts, samples and asset-storage tests can exercise Cloudinary with no
/// account and no network. It needs the ASP.NET Core shared framework, which is why <c>Stefna.Sdk.Testing</c> carries a
/// framework reference to <c>Microsoft.AspNetCore.App</c>. Point the SDK at it like this:</para>
/// <code>
/// await using var cloudinary = await CloudinaryEmulator.StartAsync("demo", "key", "secret");
/// services.AddStefna()
///     .UseCloudinary(o =>
///     {
///         o.ApplyUrl(cloudinary.CloudinaryUrl);
///         o.ApiBaseUrl = cloudinary.BaseUrl;
///         o.DeliveryBaseUrl = cloudinary.BaseUrl;
///     });
/// </code>
/// <para>Assets live in memory for the emulator's lifetime; dispose it to stop the server.</para>
/// </remarks>
public sealed class CloudinaryEmulator : IAsyncDisposable
{
    private static readonly HashSet<string> Unsigned = new(StringComparer.Ordinal) { "file", "cloud_name", "resource_type", "api_key", "signature" };
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, CloudinaryEmulatorAsset> _assets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte[]> _remoteFiles = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<CloudinaryEmulatorRequest> _requests = new();
    private readonly Lock _gate = new();
    private int _rateLimitsLeft;
    private string _rateLimitReset = "1";
    private TimeSpan? _rateLimitResetAfter;
    private int _rateLimitStatus = 429;
    private int _serverErrorsLeft;
    private int _rateLimitPercent;
    private string _rateLimitPercentReset = "1";
    private long _version = 1_700_000_000;
    private int _uploads;
    private int _destroyCalls;
    private int _destroyed;
    private int _rateLimited;

    private readonly TimeProvider _time;

    private CloudinaryEmulator(WebApplication app, string cloudName, string apiKey, string apiSecret, TimeProvider time)
    {
        _app = app;
        _time = time;
        CloudName = cloudName;
        ApiKey = apiKey;
        ApiSecret = apiSecret;
    }

    /// <summary>The cloud the emulator serves.</summary>
    public string CloudName { get; }

    /// <summary>The API key it accepts.</summary>
    public string ApiKey { get; }

    /// <summary>The secret it signs with.</summary>
    public string ApiSecret { get; }

    /// <summary>The base URL, e.g. <c>http://127.0.0.1:41234</c>, serving both the API and delivery.</summary>
    public string BaseUrl { get; private set; } = string.Empty;

    /// <summary>A <c>CLOUDINARY_URL</c> for this emulator's account.</summary>
    public string CloudinaryUrl => $"cloudinary://{ApiKey}:{ApiSecret}@{CloudName}";

    /// <summary>Every request received, in order.</summary>
    public IReadOnlyList<CloudinaryEmulatorRequest> Requests => [.. _requests];

    /// <summary>The assets held, by public id.</summary>
    public IReadOnlyDictionary<string, CloudinaryEmulatorAsset> Assets => _assets;

    /// <summary>Whether the <c>folder</c> upload parameter prefixes the public id (<c>{folder}/{public_id}</c>), as on an
    /// account in fixed folder mode; <see langword="true"/> by default. Set <see langword="false"/> to emulate an account
    /// where the folder only places the asset (dynamic folder mode's asset folder) and the public id stays as given.</summary>
    public bool FolderPrefixesPublicId { get; set; } = true;

    /// <summary>Successful uploads so far (each one stored or replaced an asset).</summary>
    public int UploadCount => Volatile.Read(ref _uploads);

    /// <summary>Authenticated <c>destroy</c> calls so far, whether the asset was there or not.</summary>
    public int DestroyCallCount => Volatile.Read(ref _destroyCalls);

    /// <summary><c>destroy</c> calls that removed an asset (answered <c>ok</c>, not <c>not found</c>).</summary>
    public int DestroyedCount => Volatile.Read(ref _destroyed);

    /// <summary>API calls answered with a rate-limit error so far.</summary>
    public int RateLimitedCount => Volatile.Read(ref _rateLimited);

    /// <summary>Starts an emulator on a free loopback port.</summary>
    /// <param name="cloudName">The cloud.</param>
    /// <param name="apiKey">The API key.</param>
    /// <param name="apiSecret">The secret.</param>
    /// <param name="time">Its clock (when requests arrive, timestamp freshness, HTTP-date resets); the system clock
    /// when <see langword="null"/>.</param>
    /// <returns>The running emulator.</returns>
    public static async Task<CloudinaryEmulator> StartAsync(string cloudName = "demo", string apiKey = "key", string apiSecret = "secret", TimeProvider? time = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddHttpClient();
        var app = builder.Build();
        var emulator = new CloudinaryEmulator(app, cloudName, apiKey, apiSecret, time ?? TimeProvider.System);
        app.MapPost("/v1_1/{cloud}/image/upload", (HttpContext context, string cloud) => emulator.UploadAsync(context, cloud));
        app.MapPost("/v1_1/{cloud}/image/destroy", (HttpContext context, string cloud) => emulator.DestroyAsync(context, cloud));
        app.MapGet("/{cloud}/image/upload/{**path}", (HttpContext context, string cloud, string path) => emulator.Deliver(context, cloud, path));
        app.MapGet("/_remote/{name}", (string name) => emulator._remoteFiles.TryGetValue(name, out var bytes) ? Results.Bytes(bytes, "application/octet-stream") : Results.NotFound());
        await app.StartAsync().ConfigureAwait(false);
        emulator.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
        return emulator;
    }

    /// <summary>Serves bytes at a URL on the emulator, for uploads by remote URL.</summary>
    /// <param name="name">A file name.</param>
    /// <param name="bytes">The content.</param>
    /// <returns>The URL.</returns>
    public Uri AddRemoteFile(string name, byte[] bytes)
    {
        _remoteFiles[name] = bytes;
        return new Uri($"{BaseUrl}/_remote/{Uri.EscapeDataString(name)}");
    }

    /// <summary>Answers the next <paramref name="count"/> API calls with a rate-limit error.</summary>
    /// <param name="count">How many.</param>
    /// <param name="reset">The <c>X-RateLimit-Reset</c> value (seconds to wait, or an HTTP date).</param>
    /// <param name="status">420 or 429.</param>
    public void RateLimitNext(int count, string reset = "1", int status = 429)
    {
        lock (_gate)
        {
            _rateLimitsLeft = count;
            _rateLimitReset = reset;
            _rateLimitResetAfter = null;
            _rateLimitStatus = status;
        }
    }

    /// <summary>Answers the next <paramref name="count"/> API calls with a rate-limit error whose
    /// <c>X-RateLimit-Reset</c> is an HTTP date (whole seconds, Cloudinary's documented form) <paramref name="resetAfter"/>
    /// after the moment it answers, on its clock. The value sent is in <see cref="CloudinaryEmulatorRequest.RateLimitReset"/>.</summary>
    /// <param name="count">How many.</param>
    /// <param name="resetAfter">How long after the answer the limit resets (the date's fraction of a second is cut off).</param>
    /// <param name="status">420 or 429.</param>
    public void RateLimitNextUntil(int count, TimeSpan resetAfter, int status = 429)
    {
        lock (_gate)
        {
            _rateLimitsLeft = count;
            _rateLimitResetAfter = resetAfter;
            _rateLimitStatus = status;
        }
    }

    /// <summary>From now on answers about <paramref name="percent"/> % of API calls (at random) with 429 and Cloudinary's
    /// rate-limit headers (<c>X-RateLimit-Limit</c>, <c>X-RateLimit-Remaining: 0</c>, <c>X-RateLimit-Reset</c>), as a
    /// busy account sees; 0 stops it. <see cref="RateLimitNext"/> and <see cref="RateLimitNextUntil"/> come first.</summary>
    /// <param name="percent">The share of calls, 0 to 100.</param>
    /// <param name="reset">The <c>X-RateLimit-Reset</c> value (seconds to wait, or an HTTP date).</param>
    public void RateLimitRandomly(int percent, string reset = "1")
    {
        ArgumentOutOfRangeException.ThrowIfNegative(percent);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percent, 100);
        lock (_gate)
        {
            _rateLimitPercent = percent;
            _rateLimitPercentReset = reset;
        }
    }

    /// <summary>Answers the next <paramref name="count"/> API calls with 503.</summary>
    /// <param name="count">How many.</param>
    public void FailNext(int count)
    {
        lock (_gate)
        {
            _serverErrorsLeft = count;
        }
    }

    /// <summary>The signature the emulator expects for the given fields (its own implementation of the documented rule).</summary>
    /// <param name="fields">The form fields.</param>
    /// <param name="stringToSign">The string signed, without the secret.</param>
    /// <returns>The hex signature.</returns>
    public string ExpectedSignature(IReadOnlyDictionary<string, string> fields, out string stringToSign)
    {
        // Signature version 2: an '&' inside a pair is written %26, so a value cannot pose as further parameters.
        var parts = fields
            .Where(f => !Unsigned.Contains(f.Key) && f.Value.Length > 0)
            .OrderBy(f => f.Key, StringComparer.Ordinal)
            .Select(f => $"{f.Key}={f.Value}".Replace("&", "%26", StringComparison.Ordinal));
        stringToSign = string.Join("&", parts);
        var data = Encoding.UTF8.GetBytes(stringToSign + ApiSecret);
        var sha256 = fields.TryGetValue("signature_algorithm", out var algorithm) && algorithm == "sha256";
        return Convert.ToHexStringLower(sha256 ? SHA256.HashData(data) : SHA1.HashData(data));
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private async Task<IResult> UploadAsync(HttpContext context, string cloud)
    {
        var (fields, check) = await ReadSignedFormAsync(context, cloud, "upload").ConfigureAwait(false);
        if (check is not null)
        {
            return check;
        }

        var form = context.Request.Form;
        byte[]? bytes = null;
        string? remote = null;
        if (form.Files.GetFile("file") is { } file)
        {
            using var buffer = new MemoryStream();
            await file.CopyToAsync(buffer).ConfigureAwait(false);
            bytes = buffer.ToArray();
        }
        else if (form.TryGetValue("file", out var value) && Uri.TryCreate(value.ToString(), UriKind.Absolute, out var url))
        {
            remote = url.AbsoluteUri;
            if (!url.IsLoopback)
            {
                return Record("upload", fields, null, remote, true, "", 400, Error(400, "Remote URLs must be loopback in the emulator"));
            }

            var client = context.RequestServices.GetRequiredService<IHttpClientFactory>().CreateClient();
            using var response = await client.GetAsync(url).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return Record("upload", fields, null, remote, true, "", 400, Error(400, $"Error in loading {remote} - {(int)response.StatusCode}"));
            }

            bytes = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
        }

        if (bytes is null)
        {
            return Record("upload", fields, null, remote, true, "", 400, Error(400, "Missing required parameter - file"));
        }

        if (!ImageInspector.TryInspect(bytes, out var info) || info is null)
        {
            return Record("upload", fields, bytes, remote, true, "", 400, Error(400, "Invalid image file"));
        }

        var publicId = fields.GetValueOrDefault("public_id") is { Length: > 0 } id ? id : Guid.NewGuid().ToString("N")[..20];
        if (FolderPrefixesPublicId && fields.GetValueOrDefault("folder") is { Length: > 0 } folder)
        {
            // Fixed-folder behaviour: the folder becomes part of the public id.
            publicId = folder.TrimEnd('/') + "/" + publicId;
        }

        var overwrite = fields.GetValueOrDefault("overwrite") != "false";
        var tags = fields.GetValueOrDefault("tags") is { Length: > 0 } t ? t.Split(',') : [];
        var version = Interlocked.Increment(ref _version);
        var asset = new CloudinaryEmulatorAsset(publicId, bytes, info.Extension, version, tags, ParseContext(fields.GetValueOrDefault("context") ?? string.Empty));
        if (overwrite || !_assets.ContainsKey(publicId))
        {
            _assets[publicId] = asset;
        }
        else
        {
            asset = _assets[publicId];
        }

        Interlocked.Increment(ref _uploads);
        var path = $"{CloudName}/image/upload/v{asset.Version}/{publicId}.{asset.Format}";
        var body = new Dictionary<string, object?>
        {
            ["asset_id"] = Guid.NewGuid().ToString("N"),
            ["public_id"] = publicId,
            ["version"] = asset.Version,
            ["signature"] = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes($"public_id={publicId}&version={asset.Version}{ApiSecret}"))),
            ["width"] = info.Width,
            ["height"] = info.Height,
            ["format"] = asset.Format,
            ["resource_type"] = "image",
            ["created_at"] = _time.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["tags"] = asset.Tags,
            ["bytes"] = asset.Bytes.Length,
            ["type"] = "upload",
            ["url"] = $"{BaseUrl}/{path}",
            ["secure_url"] = $"{BaseUrl}/{path}",
        };
        return Record("upload", fields, bytes, remote, true, "", 200, Results.Json(body));
    }

    private async Task<IResult> DestroyAsync(HttpContext context, string cloud)
    {
        var (fields, check) = await ReadSignedFormAsync(context, cloud, "destroy").ConfigureAwait(false);
        if (check is not null)
        {
            return check;
        }

        if (fields.GetValueOrDefault("public_id") is not { Length: > 0 } publicId)
        {
            return Record("destroy", fields, null, null, true, "", 400, Error(400, "Missing required parameter - public_id"));
        }

        var removed = _assets.TryRemove(publicId, out _);
        Interlocked.Increment(ref _destroyCalls);
        if (removed)
        {
            Interlocked.Increment(ref _destroyed);
        }

        return Record("destroy", fields, null, null, true, "", 200, Results.Json(new { result = removed ? "ok" : "not found" }));
    }

    private IResult Deliver(HttpContext context, string cloud, string path)
    {
        var fields = new Dictionary<string, string> { ["path"] = path };
        if (cloud != CloudName)
        {
            return Record("download", fields, null, null, true, "", 404, Results.NotFound());
        }

        var segments = path.Split('/');
        if (segments[0].StartsWith("s--", StringComparison.Ordinal) && segments[0].EndsWith("--", StringComparison.Ordinal) && segments[0].Length > 5)
        {
            // A signed URL: the signature covers the rest of the path as sent (still escaped), without the version.
            var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? string.Empty;
            var rawSegments = raw.Split('?')[0].Split('/').SkipWhile(s => !s.StartsWith("s--", StringComparison.Ordinal)).Skip(1).ToList();
            var versionAt = rawSegments.FindIndex(IsVersion);
            if (versionAt >= 0)
            {
                rawSegments.RemoveAt(versionAt);
            }

            var given = segments[0][3..^2];
            var signed = string.Join('/', rawSegments);
            if (!DeliverySignatureMatches(given, signed))
            {
                return Record("download", fields, null, null, false, signed, 401, Error(401, "Invalid URL signature"));
            }

            segments = segments[1..];
        }

        // Everything after the version segment, without the extension, is the public id.
        var version = Array.FindIndex(segments, IsVersion);
        var rest = string.Join('/', version >= 0 ? segments[(version + 1)..] : segments);
        var dot = rest.LastIndexOf('.');
        var publicId = Uri.UnescapeDataString(dot > 0 ? rest[..dot] : rest);
        return _assets.TryGetValue(publicId, out var asset)
            ? Record("download", fields, null, null, true, "", 200, Results.Bytes(asset.Bytes, "image/" + asset.Format))
            : Record("download", fields, null, null, true, "", 404, Results.NotFound());
    }

    private static bool IsVersion(string segment) => segment.Length > 1 && segment[0] == 'v' && segment[1..].All(char.IsAsciiDigit);

    // Cloudinary's delivery signature: URL-safe Base64 of SHA-1 or SHA-256 of the signed path + secret, cut to 8
    // characters (either hash) or 32 (SHA-256, the SDKs' long_url_signature).
    private bool DeliverySignatureMatches(string given, string signedPath)
    {
        var data = Encoding.UTF8.GetBytes(signedPath + ApiSecret);
        string UrlSafe(byte[] hash) => Convert.ToBase64String(hash).Replace('+', '-').Replace('/', '_');
        return given.Length switch
        {
            8 => given == UrlSafe(SHA1.HashData(data))[..8] || given == UrlSafe(SHA256.HashData(data))[..8],
            32 => given == UrlSafe(SHA256.HashData(data))[..32],
            _ => false,
        };
    }

    private async Task<(Dictionary<string, string> Fields, IResult? Failure)> ReadSignedFormAsync(HttpContext context, string cloud, string operation)
    {
        var form = await context.Request.ReadFormAsync().ConfigureAwait(false);
        var fields = form.Where(f => f.Key != "file").ToDictionary(f => f.Key, f => f.Value.ToString(), StringComparer.Ordinal);
        if (form.TryGetValue("file", out var fileValue))
        {
            // A remote URL given as the file value is not signed but is kept for the record.
            fields["file"] = fileValue.ToString();
        }

        if (cloud != CloudName)
        {
            return (fields, Record(operation, fields, null, null, false, "", 404, Error(404, $"cloud_name {cloud} not found")));
        }

        lock (_gate)
        {
            var scripted = _rateLimitsLeft > 0;
            if (scripted || (_rateLimitPercent > 0 && Random.Shared.Next(100) < _rateLimitPercent))
            {
                var reset = !scripted ? _rateLimitPercentReset
                    : _rateLimitResetAfter is { } after ? (_time.GetUtcNow() + after).ToString("R", CultureInfo.InvariantCulture)
                    : _rateLimitReset;
                _rateLimitsLeft -= scripted ? 1 : 0;
                _rateLimited++;
                var status = scripted ? _rateLimitStatus : 429;
                context.Response.Headers["X-RateLimit-Limit"] = "500";
                context.Response.Headers["X-RateLimit-Remaining"] = "0";
                context.Response.Headers["X-RateLimit-Reset"] = reset;
                return (fields, Record(operation, fields, null, null, false, "", status, Error(status, "Rate Limit Exceeded"), reset));
            }

            if (_serverErrorsLeft > 0)
            {
                _serverErrorsLeft--;
                return (fields, Record(operation, fields, null, null, false, "", 503, Error(503, "Service Unavailable")));
            }
        }

        var expected = ExpectedSignature(fields, out var toSign);
        if (fields.GetValueOrDefault("api_key") != ApiKey)
        {
            return (fields, Record(operation, fields, null, null, false, toSign, 401, Error(401, $"Invalid api_key {fields.GetValueOrDefault("api_key")}")));
        }

        if (!long.TryParse(fields.GetValueOrDefault("timestamp"), NumberStyles.None, CultureInfo.InvariantCulture, out var timestamp)
            || Math.Abs(_time.GetUtcNow().ToUnixTimeSeconds() - timestamp) > 3600)
        {
            return (fields, Record(operation, fields, null, null, false, toSign, 400, Error(400, "Stale request - reported time is not within the last hour")));
        }

        if (!string.Equals(fields.GetValueOrDefault("signature"), expected, StringComparison.Ordinal))
        {
            return (fields, Record(operation, fields, null, null, false, toSign, 401, Error(401, $"Invalid Signature {fields.GetValueOrDefault("signature")}. String to sign - '{toSign}'.")));
        }

        return (fields, null);
    }

    private IResult Record(string operation, Dictionary<string, string> fields, byte[]? file, string? remote, bool valid, string toSign, int status, IResult result, string? rateLimitReset = null)
    {
        if (toSign.Length == 0 && valid && operation != "download")
        {
            ExpectedSignature(fields, out toSign);
        }

        _requests.Enqueue(new CloudinaryEmulatorRequest(operation, fields, file, remote, valid, toSign, status, _time.GetUtcNow()) { RateLimitReset = rateLimitReset });
        return result;
    }

    private static IResult Error(int status, string message) =>
        Results.Json(new { error = new { message } }, statusCode: status);

    /// <summary>Parses <c>key=value|key2=value2</c> with backslash escapes.</summary>
    /// <param name="context">The context string.</param>
    /// <returns>The pairs.</returns>
    public static IReadOnlyDictionary<string, string> ParseContext(string context)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var key = new StringBuilder();
        var value = new StringBuilder();
        var inValue = false;
        for (var i = 0; i < context.Length; i++)
        {
            var c = context[i];
            if (c == '\\' && i + 1 < context.Length)
            {
                (inValue ? value : key).Append(context[++i]);
            }
            else if (c == '=' && !inValue)
            {
                inValue = true;
            }
            else if (c == '|')
            {
                if (key.Length > 0)
                {
                    result[key.ToString()] = value.ToString();
                }

                key.Clear();
                value.Clear();
                inValue = false;
            }
            else
            {
                (inValue ? value : key).Append(c);
            }
        }

        if (key.Length > 0)
        {
            result[key.ToString()] = value.ToString();
        }

        return result;
    }
}
