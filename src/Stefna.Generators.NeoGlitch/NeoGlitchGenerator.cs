using Microsoft.Extensions.Options;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Legacy;

namespace Stefna.Generators.NeoGlitch;

/// <summary>Neo Tokyo Glitch: turns a portrait into a neon cyberpunk glitch image in one of a few styles.</summary>
/// <param name="options">The SDK options.</param>
public sealed class NeoGlitchGenerator(IOptions<StefnaOptions> options) : ChoiceGenerator(Type, options), IGenerationType
{
    /// <summary>The type's name.</summary>
    public const string TypeName = "neo-glitch";

    /// <summary>The type as data: its styles and how each renders.</summary>
    public static ChoiceTypeDefinition Type { get; } = new(TypeName, "neo_glitch_media", "Neo Tokyo Glitch", "style", "Style",
    [
        new("base", "Base", "neon-lit Tokyo night street, cyberpunk portrait"),
        new("visor", "Visor", "glowing holographic visor across the eyes, HUD overlays"),
        new("tattoos", "Tattoos", "luminous circuit-pattern tattoos on the skin"),
        new("scanlines", "Scanlines", "heavy CRT scan lines and VHS tracking errors"),
    ])
    {
        Description = "Cyberpunk glitch portraits: neon light, chromatic aberration, scan lines.",
        Default = "base",
        Suffix = ", Neo Tokyo glitch art, chromatic aberration, RGB split, pixel sorting, digital glitch artifacts, neon magenta and cyan",
        Strength = 0.55,
        Tags = ["neo-tokyo"],
        LegacyRule = new LegacyClassificationRule
        {
            GenerationTypes = ["neo-glitch", "neo-tokyo-glitch", "neotokyo-glitch"],
            Modes = ["neotokyo", "neo-tokyo"],
            PresetKeyPrefixes = ["neo_tokyo", "neo-tokyo"],
        },
    };

    /// <summary>The type's definition.</summary>
    public static GenerationTypeDefinition TypeDefinition => Type.Definition;
}
