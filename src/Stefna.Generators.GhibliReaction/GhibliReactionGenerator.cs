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
        new("surprised", "Surprised", "wide sparkling eyes, eyebrows shot up, small open mouth, hair lifted by a sudden breeze"),
        new("crying", "Crying", "big glistening tears streaming down, trembling lip, soft rain in the background"),
        new("laughing", "Laughing", "laughing with eyes squeezed shut, head tilted back, petals drifting in warm sunlight"),
        new("blushing", "Blushing", "deep pink blush across the cheeks, shy sideways glance, hands near the face"),
        new("angry", "Angry", "puffed cheeks, furrowed brow, comic anger vein, stormy clouds behind"),
        new("sleepy", "Sleepy", "drowsy half-closed eyes, big yawn, soft evening glow, a cat curled nearby"),
        new("starry-eyed", "Starry-eyed", "huge eyes filled with twinkling stars, clasped hands, glowing wonder"),
    ])
    {
        Description = "Portraits redrawn as hand-painted anime stills caught mid-reaction.",
        Default = "surprised",
        Suffix = ", Studio Ghibli inspired anime reaction shot, hand-painted watercolor background, soft cel shading, gentle pastel palette",
        Strength = 0.65,
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
