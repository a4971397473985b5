using Microsoft.Extensions.Options;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Providers;

namespace Stefna.Sdk.Generators;

/// <summary>
/// The generator of every <see cref="ChoiceTypeDefinition"/>: a plug-in whose type is a choice among named prompt
/// texts derives from it and supplies only its data. The precedence, storage and fallback rules are documented on
/// <see cref="ChoiceTypeDefinition"/>.
/// </summary>
public abstract class ChoiceGenerator : GeneratorBase
{
    /// <summary>Creates the generator.</summary>
    /// <param name="choiceType">The type's data.</param>
    /// <param name="options">The SDK options.</param>
    protected ChoiceGenerator(ChoiceTypeDefinition choiceType, IOptions<StefnaOptions> options)
        : base((choiceType ?? throw new ArgumentNullException(nameof(choiceType))).Definition, options)
    {
        ChoiceType = choiceType;
        _keys = [.. choiceType.Choices.Select(c => c.Key)];
    }

    private readonly List<string> _keys;

    /// <summary>The type's data.</summary>
    public ChoiceTypeDefinition ChoiceType { get; }

    /// <inheritdoc />
    protected override IEnumerable<string> TypeTags => [Definition.Name, .. ChoiceType.Tags];

    /// <inheritdoc />
    protected override ValueTask<GenerationSpec> PrepareCoreAsync(GenerationRequest request, string? prompt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var column = ChoiceType.Column;
        var choice = RequireChoice(column, request.GetOption(column) ?? request.Preset, _keys, ChoiceType.Default);
        return ValueTask.FromResult(new GenerationSpec
        {
            Prompt = prompt,
            Tags = [choice],
            Columns = new Dictionary<string, string?> { [column] = choice },
        });
    }

    /// <inheritdoc />
    public override ProviderRequest CreateProviderRequest(GenerationJob job, ImageContent? sourceImage)
    {
        ArgumentNullException.ThrowIfNull(job);
        var choice = ChoiceType.Resolve(job.GetColumn(ChoiceType.Column));
        var prompt = RenderTemplate("{prompt}, " + choice.Template + ChoiceType.Suffix, new Dictionary<string, string?> { ["prompt"] = job.Prompt });
        return NewProviderRequest(job, sourceImage, prompt) with
        {
            Strength = ChoiceType.Strength,
            Parameters = new Dictionary<string, string> { [ChoiceType.Column] = choice.Key },
            Look = ChoiceType.LookOf(choice),
        };
    }
}
