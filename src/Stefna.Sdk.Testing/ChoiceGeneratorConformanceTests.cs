using Microsoft.Extensions.Options;
using SkiaSharp;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Imaging;
using Stefna.Sdk.Providers;
using Stefna.Sdk.Providers.Offline;
using Xunit;

namespace Stefna.Sdk.Testing;

/// <summary>
/// The generator kit for a type written as data (a <see cref="ChoiceGenerator"/> over a
/// <see cref="ChoiceTypeDefinition"/>): every fact of <see cref="GeneratorConformanceTests"/> plus the three rules such
/// types share (precedence, storage, fallback) and that every choice renders its own prompt. Valid and invalid requests
/// come from the definition, so a data-only package's suite is one line:
/// <code>
/// public sealed class StickerConformanceTests : ChoiceGeneratorConformanceTests
/// {
///     protected override void AddGenerationType(IStefnaBuilder stefna) =&gt; stefna.AddSticker();
/// }
/// </code>
/// </summary>
public abstract class ChoiceGeneratorConformanceTests : GeneratorConformanceTests
{
    private ChoiceTypeDefinition? _choiceType;

    /// <summary>The type's data, from the registered generator.</summary>
    /// <returns>The choice type.</returns>
    protected async Task<ChoiceTypeDefinition> ChoiceTypeAsync() =>
        _choiceType ??= Assert.IsAssignableFrom<ChoiceGenerator>(await GeneratorAsync()).ChoiceType;

    /// <inheritdoc />
    protected override IEnumerable<string> ExpectedTypeTags
    {
        get
        {
            var type = ChoiceTypeAsync().GetAwaiter().GetResult();
            return [TypeName, .. type.Tags, type.Choices[^1].Key];
        }
    }

    /// <inheritdoc />
    protected override GenerationRequest CreateValidRequest() => For(ChoiceTypeAsync().GetAwaiter().GetResult().Choices[^1].Key);

    /// <inheritdoc />
    protected override IEnumerable<InvalidRequestCase> CreateInvalidRequests()
    {
        var type = ChoiceTypeAsync().GetAwaiter().GetResult();
        var cases = new List<InvalidRequestCase> { new("unknown choice", For("no-such-choice"), type.Column, "unknown_" + type.Column) };
        if (type.Default is null)
        {
            cases.Add(new("no choice", For(null), type.Column, type.Column + "_required"));
        }

        return cases;
    }

    /// <summary>Precedence: the option named after the column wins over the preset; the preset is read only without it.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task The_option_wins_over_the_preset_and_the_preset_serves_without_it()
    {
        var generator = await GeneratorAsync();
        var type = await ChoiceTypeAsync();
        Assert.True(type.Choices.Count >= 2, "A choice type needs at least two choices to be a choice.");
        var (first, last) = (type.Choices[0].Key, type.Choices[^1].Key);

        var both = await generator.PrepareAsync(For(last, preset: first), Ct);
        var presetOnly = await generator.PrepareAsync(For(null, preset: last), Ct);

        Assert.Equal(last, both.Columns[type.Column]);
        Assert.Equal(last, presetOnly.Columns[type.Column]);
    }

    /// <summary>Storage: the choice lands in the type's own column (its only extra column) and as a tag, never in
    /// <c>preset</c>; a missing choice takes the default.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task The_choice_is_stored_in_its_own_column_and_as_a_tag_only()
    {
        var generator = await GeneratorAsync();
        var type = await ChoiceTypeAsync();
        Assert.Equal([type.Column], generator.Definition.ExtraColumns);
        foreach (var choice in type.Choices)
        {
            var spec = await generator.PrepareAsync(For(choice.Key.ToUpperInvariant()), Ct);
            Assert.Equal(choice.Key, spec.Columns[type.Column]);
            Assert.Contains(choice.Key, spec.Tags);
            Assert.Null(spec.Preset);
            Assert.Empty(spec.Meta);
        }

        if (type.Default is { } fallbackKey)
        {
            Assert.Equal(fallbackKey, (await generator.PrepareAsync(For(null), Ct)).Columns[type.Column]);
        }
    }

    /// <summary>Fallback: a stored value that is not (or no longer) a choice renders exactly as the fallback choice.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task An_unknown_stored_value_renders_as_the_fallback_choice()
    {
        var generator = await GeneratorAsync();
        var type = await ChoiceTypeAsync();
        var id = new Guid("0193c9a2-5f1e-7c3a-9b1d-4e2f6a8b0c12");
        var stale = generator.CreateProviderRequest(JobFrom(new GenerationSpec { Columns = new Dictionary<string, string?> { [type.Column] = "retired-choice" } }, id), null);
        var fallback = generator.CreateProviderRequest(JobFrom(new GenerationSpec { Columns = new Dictionary<string, string?> { [type.Column] = type.FallbackChoice.Key } }, id), null);
        var missing = generator.CreateProviderRequest(JobFrom(new GenerationSpec(), id), null);

        Assert.Equal(fallback.Prompt, stale.Prompt);
        Assert.Equal(type.FallbackChoice.Key, stale.Parameters[type.Column]);
        Assert.Equal(fallback.Prompt, missing.Prompt);
    }

    /// <summary>Every choice renders a prompt of its own carrying the user's prompt first, and the input described on
    /// the definition lists every choice with its label and the default.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Every_choice_renders_its_own_prompt_and_is_described_as_an_input()
    {
        var generator = await GeneratorAsync();
        var type = await ChoiceTypeAsync();
        var prompts = new HashSet<string>(StringComparer.Ordinal);
        foreach (var choice in type.Choices)
        {
            var spec = await generator.PrepareAsync(For(choice.Key, prompt: "a sailor"), Ct);
            var request = generator.CreateProviderRequest(JobFrom(spec, Guid.NewGuid()), null);
            Assert.StartsWith("a sailor, " + choice.Template, request.Prompt, StringComparison.Ordinal);
            Assert.Equal(choice.Key, request.Parameters[type.Column]);
            prompts.Add(request.Prompt);
        }

        Assert.Equal(type.Choices.Count, prompts.Count);
        var input = Assert.Single(generator.Definition.Inputs);
        Assert.Equal(type.Column, input.Name);
        Assert.Equal(type.Choices.Select(c => (c.Key, c.Label)), input.Choices.Select(c => (c.Key, c.Label)));
        Assert.Equal(type.Default, input.Default);
        Assert.Equal(type.Default is null, input.Required);
    }

    /// <summary>The mean absolute difference (per colour channel, of 255) that any two choices' offline renderings of
    /// the kit's sample image must exceed.</summary>
    protected virtual double DistinctChoiceLooks => 8;

    /// <summary>The look belongs to the type: every choice's provider request carries its offline look, and the offline
    /// provider renders any two choices visibly differently (mean absolute difference above
    /// <see cref="DistinctChoiceLooks"/>) from one sample image.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Every_choice_has_an_offline_look_and_any_two_look_visibly_different()
    {
        var generator = await GeneratorAsync();
        var type = await ChoiceTypeAsync();
        var source = SampleImages.Png(160, 120, seed: 5);
        var content = new ImageContent(source, ImageInspector.Inspect(source));
        var provider = new OfflineImageProvider(Options.Create(new OfflineProviderOptions()));
        var renders = new List<(string Key, byte[] Rgba)>();
        foreach (var choice in type.Choices)
        {
            var spec = await generator.PrepareAsync(For(choice.Key), Ct);
            var request = generator.CreateProviderRequest(JobFrom(spec, new Guid("0193c9a2-5f1e-7c3a-9b1d-4e2f6a8b0c13")), content);
            Assert.False(string.IsNullOrWhiteSpace(request.Look), $"Choice '{choice.Key}' has no offline look: give it a PromptChoice.Look (or the type a Look).");
            Assert.Equal(type.LookOf(choice), request.Look);
            var response = Assert.IsType<ProviderResponse.Completed>(await provider.SubmitAsync(request, Ct));
            renders.Add((choice.Key, Pixels(response.Image.Bytes!.Value.ToArray())));
        }

        for (var i = 0; i < renders.Count; i++)
        {
            for (var j = i + 1; j < renders.Count; j++)
            {
                var difference = MeanAbsoluteDifference(renders[i].Rgba, renders[j].Rgba);
                Assert.True(difference > DistinctChoiceLooks, $"'{renders[i].Key}' and '{renders[j].Key}' render alike offline: mean absolute difference {difference:0.00}, not above {DistinctChoiceLooks}.");
            }
        }
    }

    private static byte[] Pixels(byte[] png)
    {
        using var bitmap = SKBitmap.Decode(png, new SKImageInfo(160, 120, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        Assert.NotNull(bitmap);
        return bitmap.GetPixelSpan().ToArray();
    }

    private static double MeanAbsoluteDifference(byte[] a, byte[] b)
    {
        long sum = 0;
        for (var i = 0; i < a.Length; i += 4)
        {
            sum += Math.Abs(a[i] - b[i]) + Math.Abs(a[i + 1] - b[i + 1]) + Math.Abs(a[i + 2] - b[i + 2]);
        }

        return sum / (a.Length / 4 * 3.0);
    }

    private GenerationRequest For(string? choice, string? preset = null, string? prompt = null) => new()
    {
        Type = TypeName,
        Preset = preset,
        Prompt = prompt,
        UserId = "conformance-user",
        Image = ImageInput.FromBytes(SampleImages.Png(seed: 5)),
        Options = choice is null
            ? new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
            : new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { [ChoiceTypeAsync().GetAwaiter().GetResult().Column] = choice },
    };
}
