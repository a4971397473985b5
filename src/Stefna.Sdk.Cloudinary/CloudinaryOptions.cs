using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Configuration;

namespace Stefna.Sdk.Cloudinary;

/// <summary>How request signatures are hashed.</summary>
public enum CloudinarySignatureAlgorithm
{
    /// <summary>SHA-1, Cloudinary's default.</summary>
    Sha1,

    /// <summary>SHA-256 (sent as <c>signature_algorithm=sha256</c>).</summary>
    Sha256,
}

/// <summary>
/// Options of <see cref="CloudinaryAssetStorage"/>: the account (from a <c>CLOUDINARY_URL</c> or separate fields),
/// the endpoints, and how uploads behave. Validated at start-up. <see cref="ToString"/> never shows the secret.
/// </summary>
public sealed partial class CloudinaryOptions
{
    /// <summary>The key of these options under the Stefna configuration section: <c>Cloudinary</c>.</summary>
    public const string ConfigurationKey = "Cloudinary";

    /// <summary>The scheme of a <c>CLOUDINARY_URL</c>.</summary>
    public const string UrlScheme = "cloudinary";

    /// <summary>The environment variable Cloudinary's tools read the account from.</summary>
    public const string EnvironmentVariable = "CLOUDINARY_URL";

    /// <summary>Cloudinary's API host.</summary>
    public const string DefaultApiBaseUrl = "https://api.cloudinary.com";

    /// <summary>Cloudinary's delivery host.</summary>
    public const string DefaultDeliveryBaseUrl = "https://res.cloudinary.com";

    /// <summary>The cloud name (the account's id in every URL). Required.</summary>
    public string CloudName { get; set; } = string.Empty;

    /// <summary>The API key. Required.</summary>
    public string ApiKey { get; set; } = string.Empty;

    /// <summary>The API secret that signs requests. Required; never logged nor shown by <see cref="ToString"/>.</summary>
    public string ApiSecret { get; set; } = string.Empty;

    /// <summary>The API base URL. Default <c>https://api.cloudinary.com</c>; point it at an emulator in tests.</summary>
    public string ApiBaseUrl { get; set; } = DefaultApiBaseUrl;

    /// <summary>The delivery base URL used by <see cref="CloudinaryUrlBuilder"/>. Default <c>https://res.cloudinary.com</c>.</summary>
    public string DeliveryBaseUrl { get; set; } = DefaultDeliveryBaseUrl;

    /// <summary>How request signatures and short (8-character) delivery-URL signatures are hashed, as the SDKs'
    /// <c>signature_algorithm</c>. Default <see cref="CloudinarySignatureAlgorithm.Sha1"/>; an account restricted to
    /// SHA-256 needs <see cref="CloudinarySignatureAlgorithm.Sha256"/>.</summary>
    public CloudinarySignatureAlgorithm SignatureAlgorithm { get; set; } = CloudinarySignatureAlgorithm.Sha1;

    /// <summary>Whether signed delivery URLs carry a 32-character SHA-256 signature instead of 8 characters, as the
    /// SDKs' <c>long_url_signature</c>. Default off.</summary>
    public bool LongUrlSignature { get; set; }

    /// <summary>The top folder assets are uploaded under: <c>{FolderPrefix}/{type}/{sources|results}</c>. Default <c>stefna</c>;
    /// empty puts the type folders at the root.</summary>
    public string FolderPrefix { get; set; } = "stefna";

    /// <summary>The longest one HTTP call (upload, destroy, download) may take. Default 10 min, sized for large images
    /// on slow links rather than <see cref="HttpClient"/>'s 100 s.</summary>
    public TimeSpan UploadTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The longest wait for a rate limit (HTTP 420/429) to reset before retrying; a later reset fails the call
    /// at once. Default 60 s.</summary>
    public TimeSpan MaxRateLimitWait { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How many times a rate-limited call is retried after waiting for the reset. Default 3.</summary>
    public int MaxRateLimitRetries { get; set; } = 3;

    /// <summary>How many times a call answered with a 5xx (or a broken connection) is retried. Default 2.</summary>
    public int MaxServerErrorRetries { get; set; } = 2;

    /// <summary>The first back-off after a 5xx; doubles with each retry. Default 500 ms.</summary>
    public TimeSpan ServerErrorBackoff { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The largest body <see cref="CloudinaryAssetStorage.ReadAsync"/> accepts. Default 100 MiB.</summary>
    public long MaxReadBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>Reads a <c>CLOUDINARY_URL</c> (<c>cloudinary://API_KEY:API_SECRET@CLOUD_NAME</c>) into new options.</summary>
    /// <param name="cloudinaryUrl">The URL. An optional <c>?upload_prefix=https://host</c> sets <see cref="ApiBaseUrl"/>.</param>
    /// <returns>The options.</returns>
    /// <exception cref="FormatException">The URL is malformed; the message says what is wrong and never repeats the secret.</exception>
    public static CloudinaryOptions Parse(string cloudinaryUrl)
    {
        var options = new CloudinaryOptions();
        options.ApplyUrl(cloudinaryUrl);
        return options;
    }

    /// <summary>Sets <see cref="CloudName"/>, <see cref="ApiKey"/> and <see cref="ApiSecret"/> (and <see cref="ApiBaseUrl"/>
    /// when the URL has <c>upload_prefix</c>) from a <c>CLOUDINARY_URL</c>.</summary>
    /// <param name="cloudinaryUrl">The URL, <c>cloudinary://API_KEY:API_SECRET@CLOUD_NAME</c>.</param>
    /// <exception cref="FormatException">The URL is malformed; the message says what is wrong and never repeats the secret.</exception>
    public void ApplyUrl(string cloudinaryUrl)
    {
        const string Shape = "A CLOUDINARY_URL must look like cloudinary://API_KEY:API_SECRET@CLOUD_NAME";
        if (string.IsNullOrWhiteSpace(cloudinaryUrl))
        {
            throw new FormatException($"{Shape}; it is empty.");
        }

        var text = cloudinaryUrl.Trim();
        if (text.StartsWith(EnvironmentVariable + "=", StringComparison.Ordinal))
        {
            // Pasted straight from Cloudinary's console, which shows "CLOUDINARY_URL=cloudinary://...".
            text = text[(EnvironmentVariable.Length + 1)..];
        }

        var schemeEnd = text.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0 || !string.Equals(text[..schemeEnd], UrlScheme, StringComparison.OrdinalIgnoreCase))
        {
            // Do not echo the value: it may hold the secret.
            throw new FormatException($"{Shape}; it does not start with 'cloudinary://'.");
        }

        var rest = text[(schemeEnd + 3)..];
        var query = string.Empty;
        if (rest.IndexOf('?', StringComparison.Ordinal) is var q and >= 0)
        {
            query = rest[(q + 1)..];
            rest = rest[..q];
        }

        var at = rest.LastIndexOf('@');
        if (at < 0)
        {
            throw new FormatException($"{Shape}; the '@CLOUD_NAME' part is missing.");
        }

        var credentials = rest[..at];
        var cloud = rest[(at + 1)..].TrimEnd('/');
        var colon = credentials.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            throw new FormatException($"{Shape}; the ':API_SECRET' part is missing (it goes between the API key and '@', not after the cloud name).");
        }

        var key = Uri.UnescapeDataString(credentials[..colon]);
        var secret = Uri.UnescapeDataString(credentials[(colon + 1)..]);
        if (key.Length == 0)
        {
            throw new FormatException($"{Shape}; the API key is empty.");
        }

        if (secret.Length == 0)
        {
            throw new FormatException($"{Shape}; the API secret is empty.");
        }

        if (cloud.Length == 0)
        {
            throw new FormatException($"{Shape}; the cloud name is empty.");
        }

        if (!CloudNamePattern().IsMatch(cloud))
        {
            // The value is not echoed: "cloudinary://key@cloud/secret" puts the secret after the cloud name.
            throw new FormatException($"{Shape}; the cloud name may contain only letters, digits, '-' and '_' (a '/' after it often means the secret is in the wrong place).");
        }

        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && pair[..eq] == "upload_prefix")
            {
                ApiBaseUrl = Uri.UnescapeDataString(pair[(eq + 1)..]);
            }
        }

        CloudName = cloud;
        ApiKey = key;
        ApiSecret = secret;
    }

    /// <summary>The account and endpoints, with the secret (and any user info in the URLs) redacted.</summary>
    /// <returns>For example <c>cloudinary://1234:***@demo (api https://api.cloudinary.com)</c>.</returns>
    public override string ToString() =>
        $"cloudinary://{ApiKey}:{(string.IsNullOrEmpty(ApiSecret) ? string.Empty : "***")}@{CloudName} (api {RedactUserInfo(ApiBaseUrl)}, delivery {RedactUserInfo(DeliveryBaseUrl)}, folder '{FolderPrefix}', {SignatureAlgorithm})";

    /// <summary>Replaces the user info of every URL in <paramref name="text"/> (<c>scheme://user:password@host</c>)
    /// with <c>***</c>, so no error message or log line repeats credentials given in a URL.</summary>
    internal static string RedactUserInfo(string text) => UserInfoPattern().Replace(text, "${scheme}***@");

    [GeneratedRegex(@"(?<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s]*@")]
    private static partial Regex UserInfoPattern();

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    internal static partial Regex CloudNamePattern();

    [GeneratedRegex("^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")]
    internal static partial Regex FolderPattern();
}

/// <summary>Checks <see cref="CloudinaryOptions"/> at start-up.</summary>
internal sealed class CloudinaryOptionsValidator(StefnaConfigurationKeys keys) : IValidateOptions<CloudinaryOptions>
{
    public ValidateOptionsResult Validate(string? name, CloudinaryOptions options)
    {
        var failures = new List<string>();
        string K(string member) => keys.KeyOf<CloudinaryOptions>(name, member);
        if (string.IsNullOrWhiteSpace(options.CloudName))
        {
            failures.Add($"{K(nameof(options.CloudName))} is required (set it, or give a CLOUDINARY_URL cloudinary://API_KEY:API_SECRET@CLOUD_NAME).");
        }
        else if (!CloudinaryOptions.CloudNamePattern().IsMatch(options.CloudName))
        {
            // Not echoed: a mis-split CLOUDINARY_URL can leave the secret in the cloud name.
            failures.Add($"{K(nameof(options.CloudName))} may contain only letters, digits, '-' and '_'.");
        }

        if (string.IsNullOrWhiteSpace(options.ApiKey))
        {
            failures.Add($"{K(nameof(options.ApiKey))} is required.");
        }

        if (string.IsNullOrWhiteSpace(options.ApiSecret))
        {
            failures.Add($"{K(nameof(options.ApiSecret))} is required.");
        }

        CheckBase(failures, K(nameof(options.ApiBaseUrl)), options.ApiBaseUrl);
        CheckBase(failures, K(nameof(options.DeliveryBaseUrl)), options.DeliveryBaseUrl);
        if (options.FolderPrefix.Length > 0 && !CloudinaryOptions.FolderPattern().IsMatch(options.FolderPrefix))
        {
            failures.Add($"{K(nameof(options.FolderPrefix))} '{options.FolderPrefix}' must be folder names of letters, digits, '-' and '_' joined by '/', with no leading or trailing '/'.");
        }

        if (options.UploadTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{K(nameof(options.UploadTimeout))} must be positive.");
        }

        if (options.MaxRateLimitWait < TimeSpan.Zero)
        {
            failures.Add($"{K(nameof(options.MaxRateLimitWait))} must not be negative.");
        }

        if (options.MaxRateLimitRetries is < 0 or > 20)
        {
            failures.Add($"{K(nameof(options.MaxRateLimitRetries))} must be between 0 and 20.");
        }

        if (options.MaxServerErrorRetries is < 0 or > 10)
        {
            failures.Add($"{K(nameof(options.MaxServerErrorRetries))} must be between 0 and 10.");
        }

        if (options.ServerErrorBackoff < TimeSpan.Zero)
        {
            failures.Add($"{K(nameof(options.ServerErrorBackoff))} must not be negative.");
        }

        if (options.MaxReadBytes <= 0)
        {
            failures.Add($"{K(nameof(options.MaxReadBytes))} must be positive.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void CheckBase(List<string> failures, string name, string value)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            failures.Add($"{name} must be an absolute http(s) URL; got '{CloudinaryOptions.RedactUserInfo(value)}'.");
        }
    }
}
