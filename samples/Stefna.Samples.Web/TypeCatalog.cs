using Microsoft.Extensions.Options;
using Stefna.Generators.CustomPrompt;
using Stefna.Generators.Presets;
using Stefna.Sdk;
using Stefna.Sdk.Generators;

namespace Stefna.Samples.Web;

/// <summary>
/// Describes each registered type's form fields for <c>GET /api/types</c> from its definition's
/// <see cref="GenerationTypeDefinition.Inputs"/> (names, labels, choices, defaults), so a type, built-in or third-party,
/// brings its own form. Two things are this host's: the preset input lists only this week's active presets, and
/// Custom Prompt's prompt is required and has its own length limit.
/// </summary>
internal sealed class TypeCatalog(IGenerationPipeline pipeline, IPresetRotation rotation, IOptions<CustomPromptOptions> customPrompt, IOptions<Stefna.Sdk.Configuration.StefnaOptions> sdk)
{
    /// <summary>Every registered type with its fields.</summary>
    public IReadOnlyList<TypeResponse> Describe() => [.. pipeline.Types.Select(Describe)];

    private TypeResponse Describe(GenerationTypeDefinition type) =>
        new(type.Name, type.DisplayName, type.Description, type.RequiresSourceImage, Fields(type));

    private List<FieldResponse> Fields(GenerationTypeDefinition type)
    {
        var fields = type.Inputs.Select(input => new FieldResponse(input.Name, input.Label, "choice", input.Required, input.Default, Choices(type, input), MaxLength: null)).ToList();
        fields.Add(type.Name == CustomPromptGenerator.TypeName
            ? new FieldResponse("prompt", "Prompt", "text", Required: true, Default: null, Choices: null, MaxLength: customPrompt.Value.MaxPromptLength)
            : new FieldResponse("prompt", "Prompt (optional)", "text", Required: false, Default: null, Choices: null, MaxLength: sdk.Value.MaxPromptLength));
        return fields;
    }

    private List<ChoiceResponse> Choices(GenerationTypeDefinition type, GenerationInput input) => type.Name == PresetsGenerator.TypeName
        ? [.. rotation.GetWeek().Active.Select(p => new ChoiceResponse(p.Key, p.Name, p.Description))]
        : [.. input.Choices.Select(c => new ChoiceResponse(c.Key, c.Label, c.Description))];
}
