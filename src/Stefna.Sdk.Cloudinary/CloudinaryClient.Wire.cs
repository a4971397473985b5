using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Stefna.Sdk.Cloudinary;

// The wire format: upload parameters, the signed multipart form, and reading Cloudinary's answers.
public sealed partial class CloudinaryClient
{
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
