using Microsoft.Extensions.Options;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Legacy;

namespace Stefna.Generators.EmotionMask;

/// <summary>Emotion Mask: re-renders a portrait so the face expresses one chosen emotion.</summary>
/// <param name="options">The SDK options.</param>
public sealed class EmotionMaskGenerator(IOptions<StefnaOptions> options) : ChoiceGenerator(Type, options), IGenerationType
{
    /// <summary>The type's name.</summary>
    public const string TypeName = "emotion-mask";

    /// <summary>The type as data: its emotions and how each renders. No default: a request must name an emotion.</summary>
    public static ChoiceTypeDefinition Type { get; } = new(TypeName, "emotion_mask_media", "Emotion Mask", "emotion", "Emotion",
    [
        new("joy", "Joy", "portrait radiating pure joy, wide genuine smile, crinkled eyes, warm golden light"),
        new("sadness", "Sadness", "portrait in quiet sadness, downcast eyes, a single tear, cool blue muted light"),
        new("anger", "Anger", "portrait burning with anger, furrowed brow, clenched jaw, harsh red rim light"),
        new("fear", "Fear", "portrait gripped by fear, wide eyes, raised brows, pale face, deep shadows"),
        new("surprise", "Surprise", "portrait in sudden surprise, raised eyebrows, open mouth, bright flash light"),
        new("disgust", "Disgust", "portrait showing disgust, wrinkled nose, curled upper lip, sickly green tint"),
        new("calm", "Calm", "serene calm portrait, relaxed face, soft eyes, gentle diffuse morning light"),
        new("love", "Love", "portrait glowing with love, tender gaze, soft smile, rosy pink bokeh"),
    ])
    {
        Description = "Portraits re-rendered to express one emotion: joy, sadness, anger, fear, surprise, disgust, calm or love.",
        Fallback = "calm",
        Suffix = ", emotion mask, expressive face, photorealistic, detailed skin, identity preserved",
        Strength = 0.5,
        LegacyRule = new LegacyClassificationRule
        {
            GenerationTypes = ["emotion-mask"],
            Modes = ["emotionmask", "emotion-mask"],
            PresetKeyPrefixes = ["emotion_"],
        },
    };

    /// <summary>The type's definition.</summary>
    public static GenerationTypeDefinition TypeDefinition => Type.Definition;
}
