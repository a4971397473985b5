using Microsoft.Extensions.Options;
using Stefna.Sdk;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Legacy;
using Stefna.Sdk.Providers;

namespace Stefna.Generators.GhibliReaction;

/// <summary>Ghibli Reaction: redraws a portrait as a hand-painted anime still caught in one reaction.</summary>
public sealed class GhibliReactionGenerator : GeneratorBase
{
    /// <summary>The type's name.</summary>
    public const string TypeName = "ghibli-reaction";

    /// <summary>The type's dedicated table.</summary>
    public const string TableName = "ghibli_reaction_media";

    /// <summary>The type's own column holding the reaction.</summary>
    public const string ReactionColumn = "reaction";

    /// <summary>The reaction used when none is given.</summary>
    public const string DefaultReaction = "surprised";

    /// <summary>The type's definition.</summary>
    public static GenerationTypeDefinition TypeDefinition { get; } = new(TypeName, TableName, "Ghibli Reaction")
    {
        Description = "Portraits redrawn as hand-painted anime stills caught mid-reaction.",
        ExtraColumns = [ReactionColumn],
        LegacyRule = new LegacyClassificationRule
        {
            GenerationTypes = ["ghibli-reaction"],
            Modes = ["ghiblireact", "ghibli-reaction"],
            PresetKeyPrefixes = ["ghibli_"],
        },
    };

    /// <summary>The reactions, by key, each with its prompt template (<c>{prompt}</c> is the user's text, if any).</summary>
    public static IReadOnlyDictionary<string, string> Templates { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["surprised"] = "{prompt}, wide sparkling eyes, eyebrows shot up, small open mouth, hair lifted by a sudden breeze",
        ["crying"] = "{prompt}, big glistening tears streaming down, trembling lip, soft rain in the background",
        ["laughing"] = "{prompt}, laughing with eyes squeezed shut, head tilted back, petals drifting in warm sunlight",
        ["blushing"] = "{prompt}, deep pink blush across the cheeks, shy sideways glance, hands near the face",
        ["angry"] = "{prompt}, puffed cheeks, furrowed brow, comic anger vein, stormy clouds behind",
        ["sleepy"] = "{prompt}, drowsy half-closed eyes, big yawn, soft evening glow, a cat curled nearby",
        ["starry-eyed"] = "{prompt}, huge eyes filled with twinkling stars, clasped hands, glowing wonder",
    };

    private const string Suffix = ", Studio Ghibli inspired anime reaction shot, hand-painted watercolor background, soft cel shading, gentle pastel palette";

    /// <summary>Creates the generator.</summary>
    /// <param name="options">The SDK options.</param>
    public GhibliReactionGenerator(IOptions<StefnaOptions> options)
        : base(TypeDefinition, options)
    {
    }

    /// <summary>The reactions, in documentation order.</summary>
    public static IReadOnlyList<string> Reactions { get; } = [.. Templates.Keys];

    /// <inheritdoc />
    protected override IEnumerable<string> TypeTags => [TypeName, "ghibli"];

    /// <inheritdoc />
    protected override ValueTask<GenerationSpec> PrepareCoreAsync(GenerationRequest request, string? prompt, CancellationToken cancellationToken)
    {
        var reaction = RequireChoice(ReactionColumn, request.GetOption(ReactionColumn) ?? request.Preset, Reactions, DefaultReaction);
        return ValueTask.FromResult(new GenerationSpec
        {
            Prompt = prompt,
            Tags = [reaction],
            Columns = new Dictionary<string, string?> { [ReactionColumn] = reaction },
        });
    }

    /// <inheritdoc />
    public override ProviderRequest CreateProviderRequest(GenerationJob job, ImageContent? sourceImage)
    {
        ArgumentNullException.ThrowIfNull(job);
        var reaction = job.GetColumn(ReactionColumn) is { } stored && Templates.ContainsKey(stored) ? stored : DefaultReaction;
        var prompt = RenderTemplate(Templates[reaction] + Suffix, new Dictionary<string, string?> { ["prompt"] = job.Prompt ?? "portrait" });
        return NewProviderRequest(job, sourceImage, prompt) with
        {
            Strength = 0.65,
            Parameters = new Dictionary<string, string> { [ReactionColumn] = reaction },
        };
    }
}
