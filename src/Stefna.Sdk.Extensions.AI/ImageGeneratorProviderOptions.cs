using System.Drawing;
using Microsoft.Extensions.AI;

namespace Stefna.Sdk.Extensions.AI;

/// <summary>Options of an <see cref="ImageGeneratorProvider"/>: how Stefna's provider requests become
/// Microsoft.Extensions.AI <see cref="ImageGenerationOptions"/> and how failures are classified.</summary>
public sealed class ImageGeneratorProviderOptions
{
    /// <summary>The provider's name in logs, telemetry and job metadata. Default: the generator's
    /// <see cref="ImageGeneratorMetadata.ProviderName"/> (e.g. <c>openai</c>), else <c>meai</c>.</summary>
    public string? Name { get; set; }

    /// <summary>The model for requests that name none (<see cref="ImageGenerationOptions.ModelId"/>). Default: the
    /// generator's own default model.</summary>
    public string? ModelId { get; set; }

    /// <summary>Whether a model named by the request (a preset's model) is passed on; default <see langword="true"/>.
    /// Turn it off when the types' models belong to another provider's catalogue (the built-in presets name AIML API
    /// models), so <see cref="ModelId"/> is always used.</summary>
    public bool UseRequestModel { get; set; } = true;

    /// <summary>Whether to ask for bytes or a URL (<see cref="ImageGenerationOptions.ResponseFormat"/>). Default: the
    /// generator's default. Either is stored: a URL is downloaded by the job engine.</summary>
    public ImageGenerationResponseFormat? ResponseFormat { get; set; }

    /// <summary>The output media type, e.g. <c>image/png</c> (<see cref="ImageGenerationOptions.MediaType"/>). Default: the generator's default.</summary>
    public string? MediaType { get; set; }

    /// <summary>The output size for requests that give none as <c>WIDTHxHEIGHT</c>. Default: the generator's
    /// default. Size names such as <c>square_hd</c> (AIML API vocabulary) are not passed on: OpenAI-family models
    /// accept only a few exact sizes.</summary>
    public Size? ImageSize { get; set; }

    /// <summary>Classifies a failure before the built-in mapping (HTTP status and OpenAI error codes, see the package README) does; return
    /// <see langword="null"/> to leave it to the built-in mapping. Use it for a generator whose exceptions the
    /// built-in mapping does not know.</summary>
    public Func<Exception, GenerationException?>? MapException { get; set; }

    /// <summary>How long to wait after a 429 that names no <c>Retry-After</c>. Default 5 s.</summary>
    public TimeSpan DefaultRetryAfter { get; set; } = TimeSpan.FromSeconds(5);
}
