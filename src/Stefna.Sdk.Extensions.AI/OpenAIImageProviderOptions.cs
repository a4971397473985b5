using System.Drawing;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Configuration;

namespace Stefna.Sdk.Extensions.AI;

/// <summary>Options of the OpenAI image provider (<c>UseOpenAI()</c>): OpenAI's image models through
/// Microsoft.Extensions.AI.OpenAI (named options <c>openai</c>, or <c>openai:&lt;type&gt;</c> for a per-type provider),
/// bound from <c>Stefna:OpenAI</c> (<c>Stefna:Types:&lt;type&gt;:OpenAI</c>) when the host binds configuration. Validated
/// at start-up; <see cref="ToString"/> never shows the key.</summary>
public sealed class OpenAIImageProviderOptions
{
    /// <summary>The environment variable read when <see cref="ApiKey"/> is not set: <c>OPENAI_API_KEY</c>.</summary>
    public const string ApiKeyEnvironmentVariable = "OPENAI_API_KEY";

    /// <summary>The model used when <see cref="Model"/> is not set: <c>gpt-image-1</c>.</summary>
    public const string DefaultModel = "gpt-image-1";

    /// <summary>OpenAI's public endpoint.</summary>
    public static readonly Uri DefaultEndpoint = new("https://api.openai.com/v1");

    /// <summary>The API key, sent as <c>Authorization: Bearer</c>. When unset, <c>OPENAI_API_KEY</c> is used.</summary>
    public string? ApiKey { get; set; }

    /// <summary>The API's base URL, the <c>/v1</c> one (requests go to <c>{Endpoint}/images/generations</c> and
    /// <c>/images/edits</c>). Default <c>https://api.openai.com/v1</c>; an OpenAI-compatible server's URL otherwise.</summary>
    public Uri Endpoint { get; set; } = DefaultEndpoint;

    /// <summary>The image model. Default <c>gpt-image-1</c>.</summary>
    public string Model { get; set; } = DefaultModel;

    /// <summary>Whether a model named by the request (a preset's model) is sent instead of <see cref="Model"/>. Default
    /// <see langword="false"/>: the built-in presets name AIML API models, which OpenAI does not know.</summary>
    public bool UseRequestModel { get; set; }

    /// <summary>The output size for requests that give none, <c>WIDTHxHEIGHT</c> (e.g. <c>1024x1024</c>). Default: the
    /// model's default.</summary>
    public string? ImageSize { get; set; }

    /// <summary>The longest one HTTP call may take. Default 100 s (the OpenAI client's default).</summary>
    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>How many times the OpenAI client retries a 429, 5xx or network failure itself (0 to 10; it honours
    /// <c>Retry-After</c>). Default 2. The type's resilience pipeline wraps these.</summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>The key in effect: <see cref="ApiKey"/>, else the <c>OPENAI_API_KEY</c> environment variable.</summary>
    /// <returns>The key, or <see langword="null"/> when neither is set.</returns>
    public string? ResolveApiKey()
    {
        var key = string.IsNullOrWhiteSpace(ApiKey) ? Environment.GetEnvironmentVariable(ApiKeyEnvironmentVariable) : ApiKey;
        return string.IsNullOrWhiteSpace(key) ? null : key.Trim();
    }

    /// <summary>Describes the options with the key redacted.</summary>
    /// <returns>A description safe to log.</returns>
    public override string ToString() =>
        $"OpenAIImageProviderOptions {{ Endpoint = {Endpoint}, Model = {Model}, UseRequestModel = {UseRequestModel}, ImageSize = {ImageSize ?? "(model default)"}, " +
        $"ApiKey = {(string.IsNullOrWhiteSpace(ApiKey) ? "(from " + ApiKeyEnvironmentVariable + ")" : "***")}, NetworkTimeout = {NetworkTimeout}, MaxRetries = {MaxRetries} }}";

    /// <summary><see cref="ImageSize"/> as a size; <see langword="null"/> when unset or not <c>WIDTHxHEIGHT</c>.</summary>
    internal Size? ParseImageSize() => ImageGeneratorProvider.ParseSize(ImageSize?.Trim());
}

internal sealed class OpenAIImageProviderOptionsValidator(StefnaConfigurationKeys keys) : IValidateOptions<OpenAIImageProviderOptions>
{
    public ValidateOptionsResult Validate(string? name, OpenAIImageProviderOptions options)
    {
        var failures = new List<string>();
        string K(string member) => keys.KeyOf<OpenAIImageProviderOptions>(name, member);
        if (options.ResolveApiKey() is not { } key)
        {
            failures.Add($"No OpenAI API key: set {K(nameof(options.ApiKey))} or the {OpenAIImageProviderOptions.ApiKeyEnvironmentVariable} environment variable.");
        }
        else if (!key.All(c => c is >= '\x21' and <= '\x7E'))
        {
            // Never echo the key: say what is wrong with it.
            failures.Add($"The OpenAI API key ({K(nameof(options.ApiKey))} or {OpenAIImageProviderOptions.ApiKeyEnvironmentVariable}) contains a line break, space or other character that cannot go in an HTTP header; copy the key again.");
        }

        if (options.Endpoint is not { IsAbsoluteUri: true } url || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            failures.Add($"{K(nameof(options.Endpoint))} must be an absolute http or https URL.");
        }

        if (string.IsNullOrWhiteSpace(options.Model)) failures.Add($"{K(nameof(options.Model))} must be set.");
        if (!string.IsNullOrWhiteSpace(options.ImageSize) && options.ParseImageSize() is null) failures.Add($"{K(nameof(options.ImageSize))} must be WIDTHxHEIGHT, e.g. 1024x1024.");
        if (options.NetworkTimeout < TimeSpan.FromMilliseconds(100)) failures.Add($"{K(nameof(options.NetworkTimeout))} must be at least 100 ms.");
        if (options.MaxRetries is < 0 or > 10) failures.Add($"{K(nameof(options.MaxRetries))} must be between 0 and 10.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
