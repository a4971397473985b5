using Microsoft.Extensions.Options;
using Stefna.Sdk;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Legacy;
using Stefna.Sdk.Providers;

namespace Stefna.Generators.NeoGlitch;

/// <summary>Neo Tokyo Glitch: turns a portrait into a neon cyberpunk glitch image in one of a few styles.</summary>
public sealed class NeoGlitchGenerator : GeneratorBase
{
    /// <summary>The type's name.</summary>
    public const string TypeName = "neo-glitch";

    /// <summary>The type's dedicated table.</summary>
    public const string TableName = "neo_glitch_media";

    /// <summary>The style used when none is given.</summary>
    public const string DefaultStyle = "base";

    /// <summary>The type's definition.</summary>
    public static GenerationTypeDefinition TypeDefinition { get; } = new(TypeName, TableName, "Neo Tokyo Glitch")
    {
        Description = "Cyberpunk glitch portraits: neon light, chromatic aberration, scan lines.",
        LegacyRule = new LegacyClassificationRule
        {
            GenerationTypes = ["neo-glitch", "neo-tokyo-glitch", "neotokyo-glitch"],
            Modes = ["neotokyo", "neo-tokyo"],
            PresetKeyPrefixes = ["neo_tokyo", "neo-tokyo"],
        },
    };

    /// <summary>The styles, by key: what each adds to the prompt.</summary>
    public static IReadOnlyDictionary<string, string> Styles { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["base"] = "neon-lit Tokyo night street, cyberpunk portrait",
        ["visor"] = "glowing holographic visor across the eyes, HUD overlays",
        ["tattoos"] = "luminous circuit-pattern tattoos on the skin",
        ["scanlines"] = "heavy CRT scan lines and VHS tracking errors",
    };

    private const string PromptTemplate = "{prompt}, Neo Tokyo glitch art, {style}, chromatic aberration, RGB split, pixel sorting, digital glitch artifacts, neon magenta and cyan";

    /// <summary>Creates the generator.</summary>
    /// <param name="options">The SDK options.</param>
    public NeoGlitchGenerator(IOptions<StefnaOptions> options)
        : base(TypeDefinition, options)
    {
    }

    /// <inheritdoc />
    protected override IEnumerable<string> TypeTags => [TypeName, "neo-tokyo"];

    /// <inheritdoc />
    protected override ValueTask<GenerationSpec> PrepareCoreAsync(GenerationRequest request, string? prompt, CancellationToken cancellationToken)
    {
        var style = RequireChoice("style", request.Preset ?? request.GetOption("style"), [.. Styles.Keys], DefaultStyle);
        return ValueTask.FromResult(new GenerationSpec
        {
            Prompt = prompt,
            Preset = style,
            Tags = [style],
            Meta = new Dictionary<string, string> { ["style"] = style },
        });
    }

    /// <inheritdoc />
    public override ProviderRequest CreateProviderRequest(GenerationJob job, ImageContent? sourceImage)
    {
        ArgumentNullException.ThrowIfNull(job);
        var style = job.Preset ?? DefaultStyle;
        var prompt = RenderTemplate(PromptTemplate, new Dictionary<string, string?>
        {
            ["prompt"] = job.Prompt ?? "portrait",
            ["style"] = Styles.TryGetValue(style, out var text) ? text : Styles[DefaultStyle],
        });
        return NewProviderRequest(job, sourceImage, prompt) with
        {
            Strength = 0.55,
            Parameters = new Dictionary<string, string> { ["style"] = style },
        };
    }
}
