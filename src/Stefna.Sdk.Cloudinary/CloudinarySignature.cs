using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Stefna.Sdk.Cloudinary;

/// <summary>
/// Cloudinary's request signature as its official SDKs compute it ("signature version 2", pycloudinary 1.44.1+,
/// cloudinary_npm 2.7.0+, CloudinaryDotNet): every parameter except <c>file</c>, <c>cloud_name</c>,
/// <c>resource_type</c>, <c>api_key</c> (and <c>signature</c> itself); empty ones dropped; array values comma-joined;
/// each written as <c>name=value</c> with every <c>&amp;</c> escaped as <c>%26</c>; sorted by name; joined with
/// <c>&amp;</c>; the API secret appended with no separator; the lower-case hex SHA-1 (or SHA-256) of that UTF-8 string.
/// Escaping <c>&amp;</c> is what keeps a value such as <c>a=1&amp;tags=x</c> from signing like two parameters.
/// </summary>
public static class CloudinarySignature
{
    /// <summary>The length of a short delivery-URL signature (<c>s--XXXXXXXX--</c>).</summary>
    public const int ShortUrlSignatureLength = 8;

    /// <summary>The length of a long delivery-URL signature (always SHA-256), the SDKs' <c>long_url_signature</c>.</summary>
    public const int LongUrlSignatureLength = 32;

    private static readonly HashSet<string> Unsigned = new(StringComparer.Ordinal) { "file", "cloud_name", "resource_type", "api_key", "signature" };

    /// <summary>Whether a parameter takes part in the signature.</summary>
    /// <param name="name">The parameter name.</param>
    /// <returns><see langword="false"/> for <c>file</c>, <c>cloud_name</c>, <c>resource_type</c>, <c>api_key</c> and <c>signature</c>.</returns>
    public static bool IsSigned(string name) => !Unsigned.Contains(name);

    /// <summary>Builds the string that is signed, without the secret: <c>a=1&amp;b=x,y&amp;timestamp=…</c>, with
    /// <c>&amp;</c> inside values written as <c>%26</c>.</summary>
    /// <param name="parameters">The request parameters; values that are arrays are comma-joined.</param>
    /// <returns>The string to sign (the secret is appended by the <c>Sign</c> overloads).</returns>
    public static string StringToSign(IEnumerable<KeyValuePair<string, object?>> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var pairs = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in parameters)
        {
            if (!IsSigned(name))
            {
                continue;
            }

            var text = Format(value);
            if (!string.IsNullOrEmpty(text))
            {
                pairs[name] = text;
            }
        }

        return string.Join('&', pairs.Select(p => (p.Key + "=" + p.Value).Replace("&", "%26", StringComparison.Ordinal)));
    }

    /// <summary>Signs request parameters.</summary>
    /// <param name="parameters">The request parameters (unsigned ones are skipped).</param>
    /// <param name="apiSecret">The API secret.</param>
    /// <param name="algorithm">The hash.</param>
    /// <returns>The lower-case hex signature.</returns>
    public static string Sign(IEnumerable<KeyValuePair<string, object?>> parameters, string apiSecret, CloudinarySignatureAlgorithm algorithm = CloudinarySignatureAlgorithm.Sha1)
    {
        ArgumentException.ThrowIfNullOrEmpty(apiSecret);
        return SignString(StringToSign(parameters), apiSecret, algorithm);
    }

    /// <summary>The lower-case hex hash of a string to sign followed by the secret.</summary>
    internal static string SignString(string stringToSign, string apiSecret, CloudinarySignatureAlgorithm algorithm) =>
        Convert.ToHexStringLower(Hash(stringToSign + apiSecret, algorithm));

    /// <summary>Signs request parameters given as strings.</summary>
    /// <param name="parameters">The request parameters (unsigned ones are skipped).</param>
    /// <param name="apiSecret">The API secret.</param>
    /// <param name="algorithm">The hash.</param>
    /// <returns>The lower-case hex signature.</returns>
    public static string Sign(IEnumerable<KeyValuePair<string, string>> parameters, string apiSecret, CloudinarySignatureAlgorithm algorithm = CloudinarySignatureAlgorithm.Sha1)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return Sign(parameters.Select(p => new KeyValuePair<string, object?>(p.Key, p.Value)), apiSecret, algorithm);
    }

    /// <summary>The signature component of a signed delivery URL, <c>s--XXXXXXXX--</c>: the start of the URL-safe
    /// Base64 of the hash of <paramref name="pathToSign"/> + secret. Short signatures are 8 characters of SHA-1 (or of
    /// SHA-256 with <paramref name="algorithm"/>); a long signature is 32 characters and always SHA-256, as the SDKs'
    /// <c>long_url_signature</c>.</summary>
    /// <param name="pathToSign">The delivery path after <c>upload/</c> without the version: <c>{transformations}/{public_id}.{format}</c>.</param>
    /// <param name="apiSecret">The API secret.</param>
    /// <param name="algorithm">The hash of a short signature.</param>
    /// <param name="longSignature">A 32-character SHA-256 signature instead of 8 characters.</param>
    /// <returns>The URL component.</returns>
    public static string DeliverySignature(string pathToSign, string apiSecret, CloudinarySignatureAlgorithm algorithm = CloudinarySignatureAlgorithm.Sha1, bool longSignature = false)
    {
        ArgumentNullException.ThrowIfNull(pathToSign);
        ArgumentException.ThrowIfNullOrEmpty(apiSecret);
        var hash = Hash(pathToSign + apiSecret, longSignature ? CloudinarySignatureAlgorithm.Sha256 : algorithm);
        var base64 = Convert.ToBase64String(hash).Replace('+', '-').Replace('/', '_');
        return "s--" + base64[..(longSignature ? LongUrlSignatureLength : ShortUrlSignatureLength)] + "--";
    }

    private static byte[] Hash(string text, CloudinarySignatureAlgorithm algorithm)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return algorithm == CloudinarySignatureAlgorithm.Sha256 ? SHA256.HashData(bytes) : SHA1.HashData(bytes);
    }

    private static string? Format(object? value) => value switch
    {
        null => null,
        string s => s,
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        System.Collections.IEnumerable items => string.Join(',', items.Cast<object?>().Select(Format).Where(s => !string.IsNullOrEmpty(s))),
        _ => value.ToString(),
    };
}
