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
        new("joy", "Joy", "portrait radiating pure joy, wide genuine smile, crinkled eyes, warm golden light") { Look = "saturate(1.3) brightness(14) tint(#ffc828, 0.5) oval-mask(#ffc828)" },
        new("sadness", "Sadness", "portrait in quiet sadness, downcast eyes, a single tear, cool blue muted light") { Look = "saturate(0.55) brightness(-12) blur(1) tint(#3c6eff, 0.5) oval-mask(#3c6eff)" },
        new("anger", "Anger", "portrait burning with anger, furrowed brow, clenched jaw, harsh red rim light") { Look = "saturate(1.4) contrast(1.25) tint(#ff281e, 0.5) vignette(#300000, 0.5) oval-mask(#ff281e)" },
        new("fear", "Fear", "portrait gripped by fear, wide eyes, raised brows, pale face, deep shadows") { Look = "saturate(0.4) contrast(1.2) brightness(-40) tint(#288c3c, 0.4) oval-mask(#288c3c)" },
        new("surprise", "Surprise", "portrait in sudden surprise, raised eyebrows, open mouth, bright flash light") { Look = "saturate(1.15) brightness(34) glow(8, 0.4) tint(#fffae1, 0.4) oval-mask(#ffffff)" },
        new("disgust", "Disgust", "portrait showing disgust, wrinkled nose, curled upper lip, sickly green tint") { Look = "saturate(0.8) brightness(-10) tint(#96aa28, 0.55) oval-mask(#96aa28)" },
        new("calm", "Calm", "serene calm portrait, relaxed face, soft eyes, gentle diffuse morning light") { Look = "saturate(0.85) contrast(0.85) tint(#28c8be, 0.45) oval-mask(#28c8be)" },
        new("love", "Love", "portrait glowing with love, tender gaze, soft smile, rosy pink bokeh") { Look = "saturate(1.1) brightness(10) glow(8, 0.3) tint(#ff69b4, 0.5) oval-mask(#ff69b4)" },
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
