using Microsoft.Extensions.Options;
using Stefna.Sdk;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Legacy;
using Stefna.Sdk.Providers;

namespace Stefna.Generators.CustomPrompt;

/// <summary>
/// Custom Prompt: generates from the user's own text. With a source image it works image-to-image, without one
/// text-to-image. The prompt is required, limited by <see cref="CustomPromptOptions.MaxPromptLength"/>, and must pass
/// every registered <see cref="IPromptPolicy"/>.
/// </summary>
public sealed class CustomPromptGenerator : GeneratorBase, IGenerationType
{
    /// <summary>The type's name.</summary>
    public const string TypeName = "custom-prompt";

    /// <summary>The type's dedicated table.</summary>
    public const string TableName = "custom_prompt_media";

    /// <summary>The offline look: a hue turn and a duotone whose colours come from the prompt, so prompts look apart.</summary>
    public const string Look = "hue(auto) duotone(auto, auto, 0.7)";

    /// <summary>The type's definition.</summary>
    public static GenerationTypeDefinition TypeDefinition { get; } = new(TypeName, TableName, "Custom Prompt")
    {
        Description = "Images from your own words: image-to-image with a photo, text-to-image without.",
        RequiresSourceImage = false,
        LegacyRule = new LegacyClassificationRule
        {
            GenerationTypes = ["custom-prompt"],
            Modes = ["custom", "custom-prompt"],
            IsPromptFallback = true,
        },
    };

    private const string Suffix = ", highly detailed, high quality";
    private readonly IPromptPolicy[] _policies;
    private readonly int _maxPromptLength;

    /// <summary>Creates the generator.</summary>
    /// <param name="options">The SDK options.</param>
    /// <param name="typeOptions">The type's options.</param>
    /// <param name="policies">The registered prompt policies, applied in registration order.</param>
    public CustomPromptGenerator(IOptions<StefnaOptions> options, IOptions<CustomPromptOptions> typeOptions, IEnumerable<IPromptPolicy> policies)
        : base(TypeDefinition, options)
    {
        ArgumentNullException.ThrowIfNull(typeOptions);
        ArgumentNullException.ThrowIfNull(policies);
        _maxPromptLength = typeOptions.Value.MaxPromptLength;
        _policies = [.. policies];
    }

    /// <inheritdoc />
    protected override bool PromptRequired => true;

    /// <inheritdoc />
    protected override int MaxPromptLength => _maxPromptLength;

    /// <inheritdoc />
    protected override async ValueTask<GenerationSpec> PrepareCoreAsync(GenerationRequest request, string? prompt, CancellationToken cancellationToken)
    {
        // PromptRequired makes the base refuse a missing prompt before we get here.
        ArgumentNullException.ThrowIfNull(prompt);
        await _policies.EnsureAllowedAsync(TypeName, prompt, cancellationToken).ConfigureAwait(false);
        var mode = request.Image is null ? "text-to-image" : "image-to-image";
        return new GenerationSpec
        {
            Prompt = prompt,
            Tags = [mode],
            Meta = new Dictionary<string, string> { ["mode"] = mode },
        };
    }

    /// <inheritdoc />
    public override ProviderRequest CreateProviderRequest(GenerationJob job, ImageContent? sourceImage)
    {
        ArgumentNullException.ThrowIfNull(job);
        var imageToImage = sourceImage is not null || job.SourceImageUrl is not null;
        return NewProviderRequest(job, sourceImage, RenderTemplate("{prompt}" + Suffix, new Dictionary<string, string?> { ["prompt"] = job.Prompt })) with
        {
            Strength = imageToImage ? 0.7 : null,
            Parameters = new Dictionary<string, string> { ["mode"] = imageToImage ? "image-to-image" : "text-to-image" },
            Look = Look,
        };
    }
}
