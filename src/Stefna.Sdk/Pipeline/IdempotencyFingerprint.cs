using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Stefna.Sdk.Generators;

namespace Stefna.Sdk.Pipeline;

/// <summary>
/// Tells a repeated request from a different one under the same idempotency key, the way payment APIs do: the stored
/// prompt, preset, tags and type columns are compared with the new request's validated spec, and what the row does not
/// keep verbatim (the caller's options as given, and the source image: its SHA-256, or its URL) is compared through a
/// fingerprint stored in the job's metadata when the job was created.
/// </summary>
internal static class IdempotencyFingerprint
{
    public const string MetaKey = "request_sha256";

    public static string Of(GenerationRequest request)
    {
        var options = request.Options
            .Where(o => !string.IsNullOrWhiteSpace(o.Value))
            .Select(o => new[] { o.Key.Trim().ToLowerInvariant(), o.Value.Trim() })
            .OrderBy(o => o[0], StringComparer.Ordinal)
            .ToArray();
        var source = request.Image switch
        {
            null => null,
            { Bytes: { } bytes } => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes.Span)),
            { Url: { } url } => "url:" + url.AbsoluteUri,
            _ => "file:" + request.Image.FilePath,
        };
        var canonical = JsonSerializer.SerializeToUtf8Bytes(new { options, source });
        return Convert.ToHexStringLower(SHA256.HashData(canonical));
    }

    public static void EnsureSameRequest(GenerationJob existing, GenerationSpec spec, string fingerprint)
    {
        var differences = new List<string>();
        if (!string.Equals(existing.Prompt, spec.Prompt, StringComparison.Ordinal))
        {
            differences.Add("prompt");
        }

        if (!string.Equals(existing.Preset, spec.Preset, StringComparison.Ordinal))
        {
            differences.Add("preset");
        }

        if (!existing.Tags.SequenceEqual(spec.Tags, StringComparer.Ordinal))
        {
            differences.Add("tags");
        }

        if (spec.Columns.Any(c => !string.Equals(existing.GetColumn(c.Key), c.Value, StringComparison.Ordinal))
            || (existing.Meta.TryGetValue(MetaKey, out var stored) && !string.Equals(stored, fingerprint, StringComparison.Ordinal)))
        {
            differences.Add("options or source image");
        }

        if (differences.Count > 0)
        {
            throw new IdempotencyConflictException(existing.Id, differences);
        }
    }
}
