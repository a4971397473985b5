using Microsoft.Extensions.Options;
using Stefna.Sdk;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Legacy;
using Stefna.Sdk.Providers;

namespace Stefna.Generators.Presets;

/// <summary>
/// Professional Presets: renders a photo in one preset of the catalogue. The preset is required and, unless
/// <see cref="PresetsOptions.AllowInactivePresets"/> is set, must be one of this week's active presets.
/// </summary>
public sealed class PresetsGenerator : GeneratorBase, IGenerationType
{
    /// <summary>The type's name.</summary>
    public const string TypeName = "presets";

    /// <summary>The type's dedicated table.</summary>
    public const string TableName = "presets_media";

    /// <summary>The type's definition, with the catalogue as its reference table.</summary>
    public static GenerationTypeDefinition TypeDefinition { get; } = new(TypeName, TableName, "Professional Presets")
    {
        Description = "Professional looks from a catalogue of 25 presets, six of them active each week.",
        Catalog = PresetCatalog.Catalog,
        Inputs =
        [
            new GenerationInput("preset", "Preset (this week's rotation)")
            {
                Description = "One of the presets active this week.",
                Choices = [.. PresetCatalog.All.Select(p => new GenerationChoice(p.Key, p.Name, p.Description))],
                Required = true,
            },
        ],
        LegacyRule = new LegacyClassificationRule
        {
            GenerationTypes = ["presets"],
            Modes = ["preset"],
            PresetKeys = PresetCatalog.Keys,
        },
    };

    private readonly IPresetRotation _rotation;
    private readonly bool _allowInactive;

    /// <summary>Creates the generator.</summary>
    /// <param name="options">The SDK options.</param>
    /// <param name="presetsOptions">The presets options.</param>
    /// <param name="rotation">The weekly rotation.</param>
    public PresetsGenerator(IOptions<StefnaOptions> options, IOptions<PresetsOptions> presetsOptions, IPresetRotation rotation)
        : base(TypeDefinition, options)
    {
        ArgumentNullException.ThrowIfNull(presetsOptions);
        _rotation = rotation ?? throw new ArgumentNullException(nameof(rotation));
        _allowInactive = presetsOptions.Value.AllowInactivePresets;
    }

    /// <inheritdoc />
    protected override IEnumerable<string> TypeTags => [TypeName, "professional"];

    /// <inheritdoc />
    protected override ValueTask<GenerationSpec> PrepareCoreAsync(GenerationRequest request, string? prompt, CancellationToken cancellationToken)
    {
        var key = RequireChoice("preset", request.Preset ?? request.GetOption("preset"), PresetCatalog.Keys, defaultValue: null);
        var week = _rotation.GetWeek();
        if (!_allowInactive && !week.Active.Any(p => p.Key == key))
        {
            throw new GenerationValidationException(
                "preset",
                $"The preset '{key}' is not active this week ({week.Week}). Active presets: {string.Join(", ", week.Active.Select(p => p.Key))}. The rotation changes {week.NextRotation:yyyy-MM-dd HH:mm} UTC.",
                "preset_inactive");
        }

        return ValueTask.FromResult(new GenerationSpec
        {
            Prompt = prompt,
            Preset = key,
            Tags = [key],
            Meta = new Dictionary<string, string> { ["rotation_week"] = week.Week.ToString() },
        });
    }

    /// <inheritdoc />
    public override ProviderRequest CreateProviderRequest(GenerationJob job, ImageContent? sourceImage)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (!PresetCatalog.TryGet(job.Preset, out var preset))
        {
            throw new GenerationValidationException("preset", $"The preset '{job.Preset}' is not in the catalogue.", "unknown_preset");
        }

        return NewProviderRequest(job, sourceImage, RenderTemplate(preset.PromptTemplate, new Dictionary<string, string?> { ["prompt"] = job.Prompt ?? "portrait" })) with
        {
            Model = preset.Model,
            Strength = preset.Strength,
            ImageSize = preset.ImageSize,
            Parameters = new Dictionary<string, string> { ["preset"] = preset.Key },
            Look = preset.Look,
        };
    }
}
