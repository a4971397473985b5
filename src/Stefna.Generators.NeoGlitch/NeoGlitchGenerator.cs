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
        new("base", "Base", "neon-lit Tokyo night street, cyberpunk portrait") { Look = "tritone(#1e003c, #ff14be, #00f0ff, 0.6) rgb-split(3) slices(7, 16) scanlines(4, 0.8)" },
        new("visor", "Visor", "glowing holographic visor across the eyes, HUD overlays") { Look = "tritone(#00141e, #0078ff, #a0fff0, 0.65) visor(#00ffeb) rgb-split(3) slices(7, 16) scanlines(4, 0.8)" },
        new("tattoos", "Tattoos", "luminous circuit-pattern tattoos on the skin") { Look = "tritone(#0a0014, #6a00ff, #ff60d0, 0.65) brightness(-25) circuits(24) rgb-split(3) slices(7, 16)" },
        new("scanlines", "Scanlines", "heavy CRT scan lines and VHS tracking errors") { Look = "tritone(#000000, #20ff60, #e0ffe0, 0.7) rgb-split(6) slices(14, 28) scanlines(3, 0.45)" },
    ])
    {
        Description = "Cyberpunk glitch portraits: neon light, chromatic aberration, scan lines.",
        Default = "base",
        Suffix = ", Neo Tokyo glitch art, chromatic aberration, RGB split, pixel sorting, digital glitch artifacts, neon magenta and cyan",
        Strength = 0.55,
        Look = "contrast(1.2)",
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
