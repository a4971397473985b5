using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Stefna.Sdk.Webhooks;

/// <summary>Signs webhook messages per the Standard Webhooks specification: the signed content is
/// <c>{webhook-id}.{webhook-timestamp}.{body}</c>, signed with HMAC-SHA256 and sent as <c>v1,&lt;base64&gt;</c> in the
/// <c>webhook-signature</c> header; several signatures (one per secret, during a rotation) are separated by spaces.</summary>
/// <remarks>Written here rather than taken from the <c>StandardWebhooks</c> package: that package targets ASP.NET Core
/// (a framework reference to <c>Microsoft.AspNetCore.App</c>, which a library used by console and worker hosts must not
/// pull in), signs with one secret only and reads the clock directly instead of a <see cref="TimeProvider"/>.</remarks>
public static class WebhookSignature
{
    /// <summary>The header carrying the message id (the same on every retry).</summary>
    public const string IdHeader = "webhook-id";

    /// <summary>The header carrying the attempt's Unix time in seconds.</summary>
    public const string TimestampHeader = "webhook-timestamp";

    /// <summary>The header carrying the space-separated signatures.</summary>
    public const string SignatureHeader = "webhook-signature";

    /// <summary>The prefix of a secret in its text form.</summary>
    public const string SecretPrefix = "whsec_";

    /// <summary>Decodes a secret: <c>whsec_</c> followed by base64 (the prefix is optional), 24 to 64 bytes.</summary>
    /// <param name="secret">The secret.</param>
    /// <returns>The key bytes.</returns>
    /// <exception cref="FormatException">The secret is not base64 or its length is out of range; the message never contains it.</exception>
    public static byte[] DecodeSecret(string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var text = secret.StartsWith(SecretPrefix, StringComparison.Ordinal) ? secret[SecretPrefix.Length..] : secret;
        byte[] key;
        try
        {
            key = Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw new FormatException("A webhook secret must be 'whsec_' followed by base64.");
        }

        return key.Length is >= 24 and <= 64 ? key : throw new FormatException($"A webhook secret must decode to 24 to 64 bytes; this one has {key.Length}.");
    }

    /// <summary>Makes a new random secret (32 bytes) in its <c>whsec_</c> form.</summary>
    /// <returns>The secret.</returns>
    public static string NewSecret() => SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>The <c>webhook-timestamp</c> value of a time: Unix seconds.</summary>
    /// <param name="time">The time.</param>
    /// <returns>The header value.</returns>
    public static string Timestamp(DateTimeOffset time) => time.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    /// <summary>One signature, <c>v1,&lt;base64&gt;</c>, of a message with one key.</summary>
    /// <param name="key">The decoded secret (<see cref="DecodeSecret"/>).</param>
    /// <param name="id">The message id.</param>
    /// <param name="timestamp">The <c>webhook-timestamp</c> value.</param>
    /// <param name="body">The exact body bytes.</param>
    /// <returns>The signature.</returns>
    public static string Sign(ReadOnlySpan<byte> key, string id, string timestamp, ReadOnlySpan<byte> body) =>
        "v1," + Convert.ToBase64String(Hash(key, id, timestamp, body));

    /// <summary>The <c>webhook-signature</c> header value: one signature per key, space-separated.</summary>
    /// <param name="keys">The decoded secrets; the first is the current one.</param>
    /// <param name="id">The message id.</param>
    /// <param name="timestamp">The <c>webhook-timestamp</c> value.</param>
    /// <param name="body">The exact body bytes.</param>
    /// <returns>The header value.</returns>
    public static string SignAll(IEnumerable<byte[]> keys, string id, string timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var builder = new StringBuilder();
        foreach (var key in keys)
        {
            if (builder.Length > 0)
            {
                builder.Append(' ');
            }

            builder.Append(Sign(key, id, timestamp, body));
        }

        return builder.Length > 0 ? builder.ToString() : throw new ArgumentException("At least one key is needed.", nameof(keys));
    }

    internal static byte[] Hash(ReadOnlySpan<byte> key, string id, string timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(timestamp);
        var prefix = Encoding.UTF8.GetBytes(id + "." + timestamp + ".");
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        hmac.AppendData(prefix);
        hmac.AppendData(body);
        return hmac.GetHashAndReset();
    }
}
