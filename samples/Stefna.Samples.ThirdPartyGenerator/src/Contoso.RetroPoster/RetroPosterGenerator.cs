using Microsoft.Extensions.Options;
using Stefna.Sdk;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Legacy;
using Stefna.Sdk.Providers;

namespace Contoso.RetroPoster;

/// <summary>Retro Poster: a photo redrawn as a vintage poster of a chosen era, with an optional printed headline.</summary>
public sealed class RetroPosterGenerator : GeneratorBase, IGenerationType
{
    /// <summary>The type's name.</summary>
    public const string TypeName = "retro-poster";

    /// <summary>The type's own table.</summary>
    public const string TableName = "retro_poster_media";

    /// <summary>The type's own column holding the era.</summary>
    public const string EraColumn = "era";

    /// <summary>The type's own column holding the headline.</summary>
    public const string HeadlineColumn = "headline";

    /// <summary>The type's definition: name, table, own columns and legacy rule.</summary>
    public static GenerationTypeDefinition TypeDefinition { get; } = new(TypeName, TableName, "Retro Poster")
    {
        Description = "A photo redrawn as a vintage poster of a chosen era, with an optional headline.",
        ExtraColumns = [EraColumn, HeadlineColumn],
        LegacyRule = new LegacyClassificationRule
        {
            GenerationTypes = ["retro-poster"],
            Modes = ["retroposter", "poster"],
            PresetKeyPrefixes = ["retro_"],
        },
    };

    /// <summary>The eras, by key: what each adds to the prompt.</summary>
    public static IReadOnlyDictionary<string, string> Eras { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["twenties"] = "1920s art deco travel poster, geometric gold linework, flat lithograph colours",
        ["fifties"] = "1950s atomic-age advertising poster, halftone dots, cream paper, cheerful pastel palette",
        ["seventies"] = "1970s psychedelic concert poster, swirling lettering, saturated orange and purple",
        ["eighties"] = "1980s synthwave movie poster, chrome type, neon grid horizon, airbrushed sky",
    };

    private const string PromptTemplate = "{prompt}, {era}, vintage print texture, {headline}";

    private readonly RetroPosterOptions _poster;

    /// <summary>Creates the generator.</summary>
    /// <param name="options">The SDK options.</param>
    /// <param name="posterOptions">The type's own options.</param>
    public RetroPosterGenerator(IOptions<StefnaOptions> options, IOptions<RetroPosterOptions> posterOptions)
        : base(TypeDefinition, options)
    {
        ArgumentNullException.ThrowIfNull(posterOptions);
        _poster = posterOptions.Value;
    }

    /// <inheritdoc />
    protected override IEnumerable<string> TypeTags => [TypeName, "poster"];

    /// <inheritdoc />
    protected override ValueTask<GenerationSpec> PrepareCoreAsync(GenerationRequest request, string? prompt, CancellationToken cancellationToken)
    {
        var era = RequireChoice(EraColumn, request.Preset ?? request.GetOption(EraColumn), [.. Eras.Keys], _poster.DefaultEra);
        var headline = request.GetOption(HeadlineColumn);
        if (headline is not null)
        {
            if (headline.Length > _poster.MaxHeadlineLength)
            {
                throw new GenerationValidationException(HeadlineColumn, $"The headline is {headline.Length} characters long; a poster fits at most {_poster.MaxHeadlineLength}.", "headline_too_long");
            }

            if (!headline.All(c => char.IsLetterOrDigit(c) || c is ' ' or '!' or '?' or '.' or ',' or '\'' or '-' or '&'))
            {
                throw new GenerationValidationException(HeadlineColumn, "A headline may hold letters, digits, spaces and ! ? . , ' - & only.", "headline_invalid");
            }
        }

        return ValueTask.FromResult(new GenerationSpec
        {
            Prompt = prompt,
            Preset = era,
            Tags = [era],
            Meta = new Dictionary<string, string> { ["era"] = era },
            Columns = new Dictionary<string, string?> { [EraColumn] = era, [HeadlineColumn] = headline },
        });
    }

    /// <inheritdoc />
    public override ProviderRequest CreateProviderRequest(GenerationJob job, ImageContent? sourceImage)
    {
        ArgumentNullException.ThrowIfNull(job);
        var era = job.GetColumn(EraColumn) ?? job.Preset ?? _poster.DefaultEra;
        var headline = job.GetColumn(HeadlineColumn);
        var parameters = new Dictionary<string, string> { ["era"] = era };
        if (headline is not null)
        {
            parameters["headline"] = headline;
        }

        return new ProviderRequest
        {
            JobId = job.Id,
            Type = job.Type,
            Prompt = RenderTemplate(PromptTemplate, new Dictionary<string, string?>
            {
                ["prompt"] = job.Prompt ?? "portrait",
                ["era"] = Eras.TryGetValue(era, out var look) ? look : Eras[_poster.DefaultEra],
                ["headline"] = headline is null ? null : $"bold headline text \"{headline}\"",
            }),
            SourceImage = sourceImage,
            Model = "flux/dev/image-to-image",
            Strength = 0.65,
            Seed = SeedFor(job.Id),
            ImageSize = "portrait_4_3",
            Parameters = parameters,
        };
    }
}
