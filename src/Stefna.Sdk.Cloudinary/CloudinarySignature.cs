using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Stefna.Sdk.Cloudinary;

/// <summary>
/// Cloudinary's request signature, as documented: every parameter except <c>file</c>, <c>cloud_name</c>,
/// <c>resource_type</c>, <c>api_key</c> (and <c>signature</c> itself); empty ones dropped; sorted by name; joined as
/// <c>name=value</c> with <c>&amp;</c> (array values comma-joined); the API secret appended with no separator; the
/// lower-case hex SHA-1 (or SHA-256) of that UTF-8 string.
/// </summary>
public static class CloudinarySignature
{
    private static readonly HashSet<string> Unsigned = new(StringComparer.Ordinal) { "file", "cloud_name", "resource_type", "api_key", "signature" };

    /// <summary>Whether a parameter takes part in the signature.</summary>
    /// <param name="name">The parameter name.</param>
    /// <returns><see langword="false"/> for <c>file</c>, <c>cloud_name</c>, <c>resource_type</c>, <c>api_key</c> and <c>signature</c>.</returns>
    public static bool IsSigned(string name) => !Unsigned.Contains(name);

    /// <summary>Builds the string that is signed, without the secret: <c>a=1&amp;b=x,y&amp;timestamp=…</c>.</summary>
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

        return string.Join('&', pairs.Select(p => p.Key + "=" + p.Value));
    }

    /// <summary>Signs request parameters.</summary>
    /// <param name="parameters">The request parameters (unsigned ones are skipped).</param>
    /// <param name="apiSecret">The API secret.</param>
    /// <param name="algorithm">The hash.</param>
    /// <returns>The lower-case hex signature.</returns>
    public static string Sign(IEnumerable<KeyValuePair<string, object?>> parameters, string apiSecret, CloudinarySignatureAlgorithm algorithm = CloudinarySignatureAlgorithm.Sha1)
    {
        ArgumentException.ThrowIfNullOrEmpty(apiSecret);
        var bytes = Encoding.UTF8.GetBytes(StringToSign(parameters) + apiSecret);
        var hash = algorithm == CloudinarySignatureAlgorithm.Sha256 ? SHA256.HashData(bytes) : SHA1.HashData(bytes);
        return Convert.ToHexStringLower(hash);
    }

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

    /// <summary>The signature component of a signed delivery URL: <c>s--XXXXXXXX--</c>, where the eight characters
    /// start the URL-safe Base64 of SHA-1(<paramref name="pathToSign"/> + secret).</summary>
    /// <param name="pathToSign">The delivery path after <c>upload/</c> without the version: <c>{transformations}/{public_id}.{format}</c>.</param>
    /// <param name="apiSecret">The API secret.</param>
    /// <returns>The URL component.</returns>
    public static string DeliverySignature(string pathToSign, string apiSecret)
    {
        ArgumentNullException.ThrowIfNull(pathToSign);
        ArgumentException.ThrowIfNullOrEmpty(apiSecret);
        var hash = SHA1.HashData(Encoding.UTF8.GetBytes(pathToSign + apiSecret));
        var base64 = Convert.ToBase64String(hash).Replace('+', '-').Replace('/', '_');
        return "s--" + base64[..8] + "--";
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
