using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Providers;

namespace Stefna.Sdk.Generators;

/// <summary>
/// The shared behaviour of generators, written once: prompt checks (length, control characters), tag
/// normalisation, choice validation with errors that name the valid values, and prompt templates. A plug-in
/// derives from it and supplies only what is its own.
/// </summary>
public abstract class GeneratorBase : IGenerator
{
    /// <summary>Creates the generator.</summary>
    /// <param name="definition">The type's definition.</param>
    /// <param name="options">The SDK options (prompt and tag limits).</param>
    protected GeneratorBase(GenerationTypeDefinition definition, IOptions<StefnaOptions> options)
    {
        Definition = definition ?? throw new ArgumentNullException(nameof(definition));
        Options = options?.Value ?? throw new ArgumentNullException(nameof(options));
    }

    /// <inheritdoc />
    public GenerationTypeDefinition Definition { get; }

    /// <summary>The SDK options.</summary>
    protected StefnaOptions Options { get; }

    /// <summary>Whether the type requires a prompt. Default <see langword="false"/>.</summary>
    protected virtual bool PromptRequired => false;

    /// <summary>The longest prompt this type accepts; defaults to <see cref="StefnaOptions.MaxPromptLength"/>.</summary>
    protected virtual int MaxPromptLength => Options.MaxPromptLength;

    /// <summary>The tags every job of the type carries. Default: the type's name.</summary>
    protected virtual IEnumerable<string> TypeTags => [Definition.Name];

    /// <inheritdoc />
    public async ValueTask<GenerationSpec> PrepareAsync(GenerationRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);

        // Count first: a list longer than the limit is refused before a single tag is read or compared (a 1 MB form
        // carries ~170,000 tags). Duplicates are not worth a larger allowance.
        if (request.Tags.Count > Options.MaxTags)
        {
            throw TooManyTags(request.Tags.Count);
        }

        var prompt = NormalizePrompt(request.Prompt);
        var spec = await PrepareCoreAsync(request, prompt, cancellationToken).ConfigureAwait(false);
        return spec with { Tags = NormalizeTags(TypeTags.Concat(spec.Tags).Concat(request.Tags)) };
    }

    /// <summary>The type's own validation and normalisation.</summary>
    /// <param name="request">The request.</param>
    /// <param name="prompt">The trimmed, checked prompt, or <see langword="null"/> when none was given.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The spec; its tags are merged with the type's and the caller's.</returns>
    protected abstract ValueTask<GenerationSpec> PrepareCoreAsync(GenerationRequest request, string? prompt, CancellationToken cancellationToken);

    /// <inheritdoc />
    public abstract ProviderRequest CreateProviderRequest(GenerationJob job, ImageContent? sourceImage);

    /// <summary>Checks that a value is one of the allowed keys (case-insensitive), or returns the default when absent.</summary>
    /// <param name="field">The request field, for the error.</param>
    /// <param name="value">The given value.</param>
    /// <param name="allowed">The allowed keys.</param>
    /// <param name="defaultValue">The value when none is given; <see langword="null"/> makes the field required.</param>
    /// <returns>The allowed key as spelled in <paramref name="allowed"/>.</returns>
    /// <exception cref="GenerationValidationException">The value is missing or not allowed; the message lists the allowed keys.</exception>
    protected static string RequireChoice(string field, string? value, IReadOnlyCollection<string> allowed, string? defaultValue)
    {
        ArgumentNullException.ThrowIfNull(allowed);
        if (string.IsNullOrWhiteSpace(value))
        {
            return defaultValue ?? throw new GenerationValidationException(field, $"A {field} is required. Choose one of: {string.Join(", ", allowed)}.", $"{field}_required");
        }

        var trimmed = value.Trim();
        foreach (var candidate in allowed)
        {
            if (string.Equals(candidate, trimmed, StringComparison.OrdinalIgnoreCase))
            {
                return candidate;
            }
        }

        throw new GenerationValidationException(field, $"Unknown {field} '{Truncate(trimmed, 60)}'. Choose one of: {string.Join(", ", allowed)}.", $"unknown_{field}");
    }

    /// <summary>Fills <c>{name}</c> placeholders of a template; unknown placeholders become empty and runs of spaces collapse.</summary>
    /// <param name="template">The template, e.g. <c>"{prompt}, neo tokyo glitch, {style}"</c>.</param>
    /// <param name="values">The values by placeholder name.</param>
    /// <returns>The rendered text.</returns>
    protected static string RenderTemplate(string template, IReadOnlyDictionary<string, string?> values)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(values);
        var builder = new StringBuilder(template.Length + 64);
        for (var i = 0; i < template.Length; i++)
        {
            if (template[i] == '{' && template.IndexOf('}', i) is var end and > 0)
            {
                var key = template[(i + 1)..end];
                builder.Append(values.TryGetValue(key, out var value) ? value : null);
                i = end;
            }
            else
            {
                builder.Append(template[i]);
            }
        }

        var text = builder.ToString();
        while (text.Contains("  ", StringComparison.Ordinal))
        {
            text = text.Replace("  ", " ", StringComparison.Ordinal);
        }

        return text.Replace(" ,", ",", StringComparison.Ordinal).Trim(' ', ',');
    }

    /// <summary>Starts a job's provider request with what every type sets the same way: job id, type, prompt, source
    /// image, a seed stable per job and the usual image size. No model: the provider picks it from its options for the
    /// type (for the AIML API, <c>ImageToImageModel</c> with a source image, <c>Model</c> without), so a host can change
    /// a type's model in configuration. Types add the rest with <c>with</c>.</summary>
    /// <param name="job">The claimed job.</param>
    /// <param name="sourceImage">The job's source image, if any.</param>
    /// <param name="prompt">The rendered prompt.</param>
    /// <returns>The request.</returns>
    protected static ProviderRequest NewProviderRequest(GenerationJob job, ImageContent? sourceImage, string prompt)
    {
        ArgumentNullException.ThrowIfNull(job);
        return new ProviderRequest
        {
            JobId = job.Id,
            Type = job.Type,
            Prompt = prompt,
            SourceImage = sourceImage,
            Seed = SeedFor(job.Id),
            ImageSize = "square_hd",
        };
    }

    /// <summary>A stable seed derived from a job id, so the same job renders the same way on any host.</summary>
    /// <param name="jobId">The job id.</param>
    /// <returns>A non-negative seed.</returns>
    protected static long SeedFor(Guid jobId)
    {
        Span<byte> bytes = stackalloc byte[16];
        jobId.TryWriteBytes(bytes);
        return BitConverter.ToInt64(bytes) & 0x7FFF_FFFF;
    }

    private string? NormalizePrompt(string? prompt)
    {
        // A blank prompt given on purpose is a mistake worth naming, unless the type needs one (then say that).
        if (prompt is not null && string.IsNullOrWhiteSpace(prompt) && !PromptRequired)
        {
            throw new GenerationValidationException("prompt", "The prompt is empty: write a prompt or leave it out.", "prompt_empty");
        }

        var text = prompt?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            return PromptRequired
                ? throw new GenerationValidationException("prompt", $"{Definition.DisplayName} needs a prompt: describe the image you want.", "prompt_required")
                : null;
        }

        // A cheap bound before any per-character work (normalisation composes at most a few characters into one).
        if (text.Length > MaxPromptLength * 4L)
        {
            throw PromptTooLong(text.Length);
        }

        foreach (var rune in text.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            if ((category == UnicodeCategory.Control && rune.Value is not ('\n' or '\r' or '\t')) || category == UnicodeCategory.Surrogate || IsBidiControl(rune.Value))
            {
                throw new GenerationValidationException("prompt", $"The prompt contains a control character (U+{rune.Value:X4}); remove it and try again.", "prompt_control_character");
            }
        }

        if (text.Any(char.IsSurrogate) && !Storage.MediaStoreChecks.IsStorableText(text))
        {
            throw new GenerationValidationException("prompt", "The prompt contains a broken Unicode character; remove it and try again.", "prompt_bad_unicode");
        }

        // The limit applies to what is stored: NFC can lengthen a text (U+FB2C becomes three characters).
        var normalized = text.Normalize(NormalizationForm.FormC);
        return normalized.Length > MaxPromptLength ? throw PromptTooLong(normalized.Length) : normalized;
    }

    private GenerationValidationException PromptTooLong(int length) =>
        new("prompt", $"The prompt is {length} characters long; {Definition.DisplayName} accepts at most {MaxPromptLength}.", "prompt_too_long");

    private List<string> NormalizeTags(IEnumerable<string> tags)
    {
        // Hashing, not pairwise comparison, finds duplicates; the loop stops as soon as the limit is passed.
        var result = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var raw in tags)
        {
            var tag = raw?.Trim().ToLowerInvariant().Replace(' ', '-');
            if (string.IsNullOrEmpty(tag))
            {
                continue;
            }

            if (tag.Length > Options.MaxTagLength)
            {
                throw new GenerationValidationException("tags", $"The tag '{Truncate(tag, 20)}…' is longer than {Options.MaxTagLength} characters.", "tag_too_long");
            }

            foreach (var rune in tag.EnumerateRunes())
            {
                if (!(Rune.IsLetterOrDigit(rune) || rune.Value is '-' or '_'))
                {
                    throw new GenerationValidationException("tags", $"The tag '{Truncate(tag, 40)}' may contain only letters, digits, '-' and '_'.", "tag_invalid");
                }
            }

            tag = tag.Normalize(NormalizationForm.FormC);
            if (seen.Add(tag))
            {
                result.Add(tag);
                if (result.Count > Options.MaxTags)
                {
                    throw TooManyTags(result.Count);
                }
            }
        }

        return result;
    }

    private GenerationValidationException TooManyTags(int count) =>
        new("tags", $"A job may carry at most {Options.MaxTags} tags; {(count > Options.MaxTags + 1 ? count.ToString("N0", CultureInfo.InvariantCulture) : "more")} were given.", "too_many_tags");

    private static bool IsBidiControl(int value) => value is (>= 0x202A and <= 0x202E) or (>= 0x2066 and <= 0x2069) or 0x200E or 0x200F or 0xFEFF;

    private static string Truncate(string value, int length) => value.Length <= length ? value : value[..length];
}
