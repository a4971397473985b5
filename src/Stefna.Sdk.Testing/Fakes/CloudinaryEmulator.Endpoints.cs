using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Stefna.Sdk.Imaging;

namespace Stefna.Sdk.Testing.Fakes;

// The HTTP endpoints: signed upload and destroy, delivery, and the scripted failures and record of every request.
public sealed partial class CloudinaryEmulator
{
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
}
