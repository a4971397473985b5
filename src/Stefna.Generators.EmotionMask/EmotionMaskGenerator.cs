using Microsoft.Extensions.Options;
using Stefna.Sdk;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Legacy;
using Stefna.Sdk.Providers;

namespace Stefna.Generators.EmotionMask;

/// <summary>Emotion Mask: re-renders a portrait so the face expresses one chosen emotion.</summary>
public sealed class EmotionMaskGenerator : GeneratorBase
{
    /// <summary>The type's name.</summary>
    public const string TypeName = "emotion-mask";

    /// <summary>The type's dedicated table.</summary>
    public const string TableName = "emotion_mask_media";

    /// <summary>The type's own column holding the emotion.</summary>
    public const string EmotionColumn = "emotion";

    /// <summary>The type's definition.</summary>
    public static GenerationTypeDefinition TypeDefinition { get; } = new(TypeName, TableName, "Emotion Mask")
    {
        Description = "Portraits re-rendered to express one emotion: joy, sadness, anger, fear, surprise, disgust, calm or love.",
        ExtraColumns = [EmotionColumn],
        LegacyRule = new LegacyClassificationRule
        {
            GenerationTypes = ["emotion-mask"],
            Modes = ["emotionmask", "emotion-mask"],
            PresetKeyPrefixes = ["emotion_"],
        },
    };

    /// <summary>The emotions, by key, each with its prompt template (<c>{prompt}</c> is the user's text, if any).</summary>
    public static IReadOnlyDictionary<string, string> Templates { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["joy"] = "{prompt}, portrait radiating pure joy, wide genuine smile, crinkled eyes, warm golden light",
        ["sadness"] = "{prompt}, portrait in quiet sadness, downcast eyes, a single tear, cool blue muted light",
        ["anger"] = "{prompt}, portrait burning with anger, furrowed brow, clenched jaw, harsh red rim light",
        ["fear"] = "{prompt}, portrait gripped by fear, wide eyes, raised brows, pale face, deep shadows",
        ["surprise"] = "{prompt}, portrait in sudden surprise, raised eyebrows, open mouth, bright flash light",
        ["disgust"] = "{prompt}, portrait showing disgust, wrinkled nose, curled upper lip, sickly green tint",
        ["calm"] = "{prompt}, serene calm portrait, relaxed face, soft eyes, gentle diffuse morning light",
        ["love"] = "{prompt}, portrait glowing with love, tender gaze, soft smile, rosy pink bokeh",
    };

    private const string Suffix = ", emotion mask, expressive face, photorealistic, detailed skin, identity preserved";

    /// <summary>Creates the generator.</summary>
    /// <param name="options">The SDK options.</param>
    public EmotionMaskGenerator(IOptions<StefnaOptions> options)
        : base(TypeDefinition, options)
    {
    }

    /// <summary>The emotions, in documentation order.</summary>
    public static IReadOnlyList<string> Emotions { get; } = [.. Templates.Keys];

    /// <inheritdoc />
    protected override IEnumerable<string> TypeTags => [TypeName];

    /// <inheritdoc />
    protected override ValueTask<GenerationSpec> PrepareCoreAsync(GenerationRequest request, string? prompt, CancellationToken cancellationToken)
    {
        var emotion = RequireChoice(EmotionColumn, request.GetOption(EmotionColumn) ?? request.Preset, Emotions, defaultValue: null);
        return ValueTask.FromResult(new GenerationSpec
        {
            Prompt = prompt,
            Tags = [emotion],
            Columns = new Dictionary<string, string?> { [EmotionColumn] = emotion },
        });
    }

    /// <inheritdoc />
    public override ProviderRequest CreateProviderRequest(GenerationJob job, ImageContent? sourceImage)
    {
        ArgumentNullException.ThrowIfNull(job);
        var emotion = job.GetColumn(EmotionColumn) ?? string.Empty;

        // Rows written by PrepareAsync always carry a known emotion; anything else renders a neutral expressive portrait.
        var template = Templates.TryGetValue(emotion, out var text) ? text : "{prompt}, expressive portrait";
        var prompt = RenderTemplate(template + Suffix, new Dictionary<string, string?> { ["prompt"] = job.Prompt });
        return NewProviderRequest(job, sourceImage, prompt) with
        {
            Strength = 0.5,
            Parameters = new Dictionary<string, string> { [EmotionColumn] = emotion },
        };
    }
}
