using System.Globalization;
using Microsoft.Extensions.Options;
using Stefna.Generators.CustomPrompt;
using Stefna.Generators.EmotionMask;
using Stefna.Generators.GhibliReaction;
using Stefna.Generators.NeoGlitch;
using Stefna.Generators.Presets;
using Stefna.Sdk;
using Stefna.Sdk.Generators;

namespace Stefna.Samples.Web;

/// <summary>
/// Describes each registered type's form fields for <c>GET /api/types</c>, from what the generator packages make
/// public (styles, emotions, reactions, the preset rotation). A type this host does not know (a third-party plug-in)
/// still appears, with the generic fields only.
/// </summary>
internal sealed class TypeCatalog(IGenerationPipeline pipeline, IPresetRotation rotation, IOptions<CustomPromptOptions> customPrompt, IOptions<Stefna.Sdk.Configuration.StefnaOptions> sdk)
{
    /// <summary>Every registered type with its fields.</summary>
    public IReadOnlyList<TypeResponse> Describe() => [.. pipeline.Types.Select(Describe)];

    private TypeResponse Describe(GenerationTypeDefinition type) =>
        new(type.Name, type.DisplayName, type.Description, type.RequiresSourceImage, Fields(type.Name));

    private List<FieldResponse> Fields(string type)
    {
        var prompt = new FieldResponse("prompt", "Prompt (optional)", "text", Required: false, Default: null, Choices: null, MaxLength: sdk.Value.MaxPromptLength);
        switch (type)
        {
            case NeoGlitchGenerator.TypeName:
                return
                [
                    Choice("preset", "Style", required: false, NeoGlitchGenerator.DefaultStyle, NeoGlitchGenerator.Styles.Select(s => new ChoiceResponse(s.Key, Title(s.Key), s.Value))),
                    prompt,
                ];
            case EmotionMaskGenerator.TypeName:
                return
                [
                    Choice("emotion", "Emotion", required: true, null, EmotionMaskGenerator.Emotions.Select(e => new ChoiceResponse(e, Title(e), null))),
                    prompt,
                ];
            case PresetsGenerator.TypeName:
                return
                [
                    Choice("preset", "Preset (this week's rotation)", required: true, null, rotation.GetWeek().Active.Select(p => new ChoiceResponse(p.Key, p.Name, p.Description))),
                    prompt,
                ];
            case GhibliReactionGenerator.TypeName:
                return
                [
                    Choice("reaction", "Reaction", required: false, GhibliReactionGenerator.DefaultReaction, GhibliReactionGenerator.Reactions.Select(r => new ChoiceResponse(r, Title(r), null))),
                    prompt,
                ];
            case CustomPromptGenerator.TypeName:
                return [prompt with { Label = "Prompt", Required = true, MaxLength = customPrompt.Value.MaxPromptLength }];
            default:
                return [prompt];
        }
    }

    private static FieldResponse Choice(string name, string label, bool required, string? defaultValue, IEnumerable<ChoiceResponse> choices) =>
        new(name, label, "choice", required, defaultValue, [.. choices], MaxLength: null);

    private static string Title(string key) =>
        CultureInfo.InvariantCulture.TextInfo.ToTitleCase(key.Replace('-', ' ').Replace('_', ' '));
}
