using Microsoft.Extensions.Options;
using Stefna.Sdk.Configuration;

namespace Stefna.Sdk.Providers.AimlApi;

/// <summary>Options of the AIML API provider (named options: <c>aimlapi</c>, or <c>aimlapi:&lt;type&gt;</c> for a
/// per-type provider). Validated at start-up. <see cref="ToString"/> never shows the key.</summary>
public sealed class AimlApiOptions
{
    /// <summary>The environment variable read when <see cref="ApiKey"/> is not set: <c>AIMLAPI_KEY</c>.</summary>
    public const string ApiKeyEnvironmentVariable = "AIMLAPI_KEY";

    /// <summary>The public AIML API endpoint.</summary>
    public static readonly Uri DefaultBaseUrl = new("https://api.aimlapi.com");

    /// <summary>The API key, sent as <c>Authorization: Bearer</c>. When unset, <c>AIMLAPI_KEY</c> is used.</summary>
    public string? ApiKey { get; set; }

    /// <summary>The API's base URL (requests go to <c>{BaseUrl}/v1/images/generations</c>). Default <c>https://api.aimlapi.com</c>.</summary>
    public Uri BaseUrl { get; set; } = DefaultBaseUrl;

    /// <summary>The model for text-to-image requests that name none. Default <c>flux/schnell</c>.</summary>
    public string Model { get; set; } = "flux/schnell";

    /// <summary>The model for image-to-image requests that name none. Default <c>flux/dev/image-to-image</c>.</summary>
    public string ImageToImageModel { get; set; } = "flux/dev/image-to-image";

    /// <summary>The image size sent when a request names none. Default <c>square_hd</c>.</summary>
    public string ImageSize { get; set; } = "square_hd";

    /// <summary>The image-to-image strength sent when a request gives none, 0 to 1. Default 0.75.</summary>
    public double DefaultStrength { get; set; } = 0.75;

    /// <summary>The longest one HTTP attempt may take. Default 50 s.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(50);

    /// <summary>The longest a call may take across its retries. Default 110 s (inside the type's 2 min attempt timeout).</summary>
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(110);

    /// <summary>How many times a 5xx, 408, 429 or network failure is retried (1 to 10). Default 2.</summary>
    public int MaxRetryAttempts { get; set; } = 2;

    /// <summary>The first delay between retries (exponential, with jitter); a <c>Retry-After</c> header takes precedence. Default 1 s.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The failure ratio (over 0, at most 1) at which the HTTP client's circuit breaker opens, counted over every
    /// attempt, retries included. Default 0.5, the same as the generation type's own breaker
    /// (<c>StefnaOptions.CircuitBreakerFailureRatio</c>): a provider answering 30 % of attempts with a 5xx is retried,
    /// not cut off (the standard resilience handler's own default, 0.1, would open it).</summary>
    public double CircuitBreakerFailureRatio { get; set; } = 0.5;

    /// <summary>How long to wait after a 429 without a <c>Retry-After</c> header once retries are exhausted. Default 5 s.</summary>
    public TimeSpan DefaultRetryAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The largest response body read, in bytes (inline base64 images count). Default 64 MiB.</summary>
    public long MaxResponseBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>The key in effect: <see cref="ApiKey"/>, else the <c>AIMLAPI_KEY</c> environment variable.</summary>
    /// <returns>The key, or <see langword="null"/> when neither is set.</returns>
    public string? ResolveApiKey()
    {
        var key = string.IsNullOrWhiteSpace(ApiKey) ? Environment.GetEnvironmentVariable(ApiKeyEnvironmentVariable) : ApiKey;
        return string.IsNullOrWhiteSpace(key) ? null : key.Trim();
    }

    /// <summary>Describes the options with the key redacted.</summary>
    /// <returns>A description safe to log.</returns>
    public override string ToString() =>
        $"AimlApiOptions {{ BaseUrl = {BaseUrl}, Model = {Model}, ImageToImageModel = {ImageToImageModel}, ImageSize = {ImageSize}, " +
        $"ApiKey = {(string.IsNullOrWhiteSpace(ApiKey) ? "(from " + ApiKeyEnvironmentVariable + ")" : "***")}, AttemptTimeout = {AttemptTimeout}, " +
        $"TotalTimeout = {TotalTimeout}, MaxRetryAttempts = {MaxRetryAttempts}, CircuitBreakerFailureRatio = {CircuitBreakerFailureRatio} }}";
}

internal sealed class AimlApiOptionsValidator(StefnaConfigurationKeys keys) : IValidateOptions<AimlApiOptions>
{
    public ValidateOptionsResult Validate(string? name, AimlApiOptions options)
    {
        var failures = new List<string>();
        string K(string member) => keys.KeyOf<AimlApiOptions>(name, member);
        if (options.ResolveApiKey() is not { } key)
        {
            failures.Add($"No AIML API key: set {K(nameof(options.ApiKey))} or the {AimlApiOptions.ApiKeyEnvironmentVariable} environment variable.");
        }
        else if (!IsHeaderSafe(key))
        {
            // Never echo the key: say what is wrong with it.
            failures.Add($"The AIML API key ({K(nameof(options.ApiKey))} or {AimlApiOptions.ApiKeyEnvironmentVariable}) contains a line break, space or other character that cannot go in an HTTP header; copy the key again.");
        }

        if (options.BaseUrl is not { IsAbsoluteUri: true } url || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            failures.Add($"{K(nameof(options.BaseUrl))} must be an absolute http or https URL.");
        }

        if (string.IsNullOrWhiteSpace(options.Model)) failures.Add($"{K(nameof(options.Model))} must be set.");
        if (string.IsNullOrWhiteSpace(options.ImageToImageModel)) failures.Add($"{K(nameof(options.ImageToImageModel))} must be set.");
        if (string.IsNullOrWhiteSpace(options.ImageSize)) failures.Add($"{K(nameof(options.ImageSize))} must be set.");
        if (options.DefaultStrength is < 0 or > 1 || double.IsNaN(options.DefaultStrength)) failures.Add($"{K(nameof(options.DefaultStrength))} must be between 0 and 1.");
        if (options.AttemptTimeout < TimeSpan.FromMilliseconds(100)) failures.Add($"{K(nameof(options.AttemptTimeout))} must be at least 100 ms.");
        if (options.TotalTimeout < options.AttemptTimeout) failures.Add($"{K(nameof(options.TotalTimeout))} must be at least AttemptTimeout.");
        if (options.MaxRetryAttempts is < 1 or > 10) failures.Add($"{K(nameof(options.MaxRetryAttempts))} must be between 1 and 10.");
        if (options.CircuitBreakerFailureRatio is <= 0 or > 1 || double.IsNaN(options.CircuitBreakerFailureRatio)) failures.Add($"{K(nameof(options.CircuitBreakerFailureRatio))} must be over 0 and at most 1.");
        if (options.RetryDelay < TimeSpan.Zero) failures.Add($"{K(nameof(options.RetryDelay))} must not be negative.");
        if (options.DefaultRetryAfter < TimeSpan.Zero) failures.Add($"{K(nameof(options.DefaultRetryAfter))} must not be negative.");
        if (options.MaxResponseBytes < 1024) failures.Add($"{K(nameof(options.MaxResponseBytes))} must be at least 1024.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    // A bearer token is visible ASCII (RFC 6750 token68 and RFC 9110 field values): a CR/LF inside would make every
    // request fail (and be retried as provider_unavailable), so it is a configuration error at start.
    internal static bool IsHeaderSafe(string key) => key.All(c => c is >= '\x21' and <= '\x7E');
}
