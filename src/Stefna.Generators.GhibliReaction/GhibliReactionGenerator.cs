using Microsoft.Extensions.Options;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Legacy;

namespace Stefna.Generators.GhibliReaction;

/// <summary>Ghibli Reaction: redraws a portrait as a hand-painted anime still caught in one reaction.</summary>
/// <param name="options">The SDK options.</param>
public sealed class GhibliReactionGenerator(IOptions<StefnaOptions> options) : ChoiceGenerator(Type, options), IGenerationType
{
    /// <summary>The type's name.</summary>
    public const string TypeName = "ghibli-reaction";

    /// <summary>The type as data: its reactions and how each renders.</summary>
    public static ChoiceTypeDefinition Type { get; } = new(TypeName, "ghibli_reaction_media", "Ghibli Reaction", "reaction", "Reaction",
    [
        new("surprised", "Surprised", "wide sparkling eyes, eyebrows shot up, small open mouth, hair lifted by a sudden breeze") { Look = "saturate(1.2) posterize(8) lift(0.1) glow(6, 0.3) outline(#3e2c26, 0.9)" },
        new("crying", "Crying", "big glistening tears streaming down, trembling lip, soft rain in the background") { Look = "saturate(0.6) posterize(5) tint(#5078ff, 0.45) blur(1) outline(#1e2850, 0.5)" },
        new("laughing", "Laughing", "laughing with eyes squeezed shut, head tilted back, petals drifting in warm sunlight") { Look = "saturate(1.4) posterize(7) tint(#ffc850, 0.35) lift(0.12) outline(#5a3010, 0.5)" },
        new("blushing", "Blushing", "deep pink blush across the cheeks, shy sideways glance, hands near the face") { Look = "saturate(1.1) posterize(6) tint(#ff8cb4, 0.45) lift(0.08) outline(#7a2040, 0.5)" },
        new("angry", "Angry", "puffed cheeks, furrowed brow, comic anger vein, stormy clouds behind") { Look = "saturate(1.3) contrast(1.35) posterize(4) tint(#ff3c28, 0.4) vignette(#3c0000, 0.6) outline(#200000, 1)" },
        new("sleepy", "Sleepy", "drowsy half-closed eyes, big yawn, soft evening glow, a cat curled nearby") { Look = "saturate(0.7) posterize(5) tint(#9080e0, 0.4) brightness(-30) vignette(#140a30, 0.7) outline(#2a2040, 0.35)" },
        new("starry-eyed", "Starry-eyed", "huge eyes filled with twinkling stars, clasped hands, glowing wonder") { Look = "saturate(1.35) posterize(8) tritone(#1a1050, #c070ff, #fff0a0, 0.45) glow(8, 0.4) outline(#3e2c26, 0.45)" },
    ])
    {
        Description = "Portraits redrawn as hand-painted anime stills caught mid-reaction.",
        Default = "surprised",
        Suffix = ", Studio Ghibli inspired anime reaction shot, hand-painted watercolor background, soft cel shading, gentle pastel palette",
        Strength = 0.65,
        Look = "blur(1.5) edges()",
        Tags = ["ghibli"],
        LegacyRule = new LegacyClassificationRule
        {
            GenerationTypes = ["ghibli-reaction"],
            Modes = ["ghiblireact", "ghibli-reaction"],
            PresetKeyPrefixes = ["ghibli_"],
        },
    };

    /// <summary>The type's definition.</summary>
    public static GenerationTypeDefinition TypeDefinition => Type.Definition;
}
