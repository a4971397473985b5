using Microsoft.Extensions.Options;
using SkiaSharp;
using Stefna.Generators.CustomPrompt;
using Stefna.Generators.EmotionMask;
using Stefna.Generators.GhibliReaction;
using Stefna.Generators.NeoGlitch;
using Stefna.Generators.Presets;
using Stefna.Sdk.Generators;
using Stefna.Sdk;
using Stefna.Sdk.Imaging;
using Stefna.Sdk.Providers;
using Stefna.Sdk.Providers.Offline;

namespace Stefna.Sdk.Providers.Offline.Tests;

/// <summary>Builds requests, runs the provider and compares images by their decoded pixels.</summary>
internal static class OfflineTestSupport
{
    public static readonly string[] BuiltInTypes = ["neo-glitch", "emotion-mask", "presets", "ghibli-reaction", "custom-prompt"];

    public static OfflineImageProvider Provider(Action<OfflineProviderOptions>? configure = null, TimeProvider? time = null)
    {
        var options = new OfflineProviderOptions();
        configure?.Invoke(options);
        return new OfflineImageProvider(Options.Create(options), time);
    }

    public static ProviderRequest Request(string type, byte[]? source, IReadOnlyDictionary<string, string>? parameters = null, string prompt = "a portrait", long? seed = 42)
    {
        ImageContent? content = null;
        if (source is not null)
        {
            ImageInspector.TryInspect(source, out var info);
            content = new ImageContent(source, info ?? new ImageInfo(ImageFormat.Png, 1, 1));
        }

        return new ProviderRequest
        {
            JobId = Guid.NewGuid(),
            Type = type,
            Prompt = prompt,
            SourceImage = content,
            Seed = seed,
            Parameters = parameters ?? new Dictionary<string, string>(),
            Look = LookOf(type, parameters),
        };
    }

    /// <summary>The look a built-in type's package gives a request with these parameters (as its generator does); none
    /// for other type names.</summary>
    public static string? LookOf(string type, IReadOnlyDictionary<string, string>? parameters)
    {
        string? Value(string key) => parameters?.FirstOrDefault(p => string.Equals(p.Key, key, StringComparison.OrdinalIgnoreCase)).Value;
        string? Choice(ChoiceTypeDefinition t) => t.LookOf(t.Resolve(Value(t.Column)));
        return type switch
        {
            NeoGlitchGenerator.TypeName => Choice(NeoGlitchGenerator.Type),
            EmotionMaskGenerator.TypeName => Choice(EmotionMaskGenerator.Type),
            GhibliReactionGenerator.TypeName => Choice(GhibliReactionGenerator.Type),
            PresetsGenerator.TypeName => (PresetCatalog.TryGet(Value("preset"), out var preset) ? preset : PresetCatalog.All[0]).Look,
            CustomPromptGenerator.TypeName => CustomPromptGenerator.Look,
            _ => null,
        };
    }

    /// <summary>Every built-in type's choices with their looks: the choice types' choices and the preset catalogue.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<(string Key, string? Look)>> BuiltInChoices { get; } = new Dictionary<string, IReadOnlyList<(string, string?)>>
    {
        [NeoGlitchGenerator.TypeName] = [.. NeoGlitchGenerator.Type.Choices.Select(c => (c.Key, NeoGlitchGenerator.Type.LookOf(c)))],
        [EmotionMaskGenerator.TypeName] = [.. EmotionMaskGenerator.Type.Choices.Select(c => (c.Key, EmotionMaskGenerator.Type.LookOf(c)))],
        [GhibliReactionGenerator.TypeName] = [.. GhibliReactionGenerator.Type.Choices.Select(c => (c.Key, GhibliReactionGenerator.Type.LookOf(c)))],
        [PresetsGenerator.TypeName] = [.. PresetCatalog.All.Select(p => (p.Key, p.Look))],
    };

    /// <summary>Where the sample portrait is: samples/images/portrait.png of the repository (declared first: static
    /// initialisers run in order).</summary>
    public static string PortraitPath { get; } = FindPortrait();

    /// <summary>The sample portrait's bytes.</summary>
    public static byte[] Portrait { get; } = File.ReadAllBytes(PortraitPath);

    private static string FindPortrait()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "samples", "images", "portrait.png");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("samples/images/portrait.png not found above the test's folder.");
    }

    public static async Task<byte[]> RenderAsync(this OfflineImageProvider provider, ProviderRequest request)
    {
        var response = await provider.SubmitAsync(request, CancellationToken.None);
        var completed = Assert.IsType<ProviderResponse.Completed>(response);
        Assert.NotNull(completed.Image.Bytes);
        return completed.Image.Bytes.Value.ToArray();
    }

    /// <summary>Decodes to unpremultiplied RGBA; fails the test when the bytes are not an image.</summary>
    public static (int Width, int Height, byte[] Rgba) Decode(byte[] encoded)
    {
        using var codec = SKCodec.Create(SKData.CreateCopy(encoded));
        Assert.NotNull(codec);
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        Assert.Equal(SKCodecResult.Success, codec.GetPixels(info, bitmap.GetPixels()));
        return (info.Width, info.Height, bitmap.GetPixelSpan().ToArray());
    }

    /// <summary>The mean absolute difference of the colour channels, 0–255, of two images of the same size.</summary>
    public static double MeanAbsoluteDifference(byte[] a, byte[] b)
    {
        var first = Decode(a);
        var second = Decode(b);
        Assert.Equal((first.Width, first.Height), (second.Width, second.Height));
        long sum = 0;
        for (var i = 0; i < first.Rgba.Length; i += 4)
        {
            sum += Math.Abs(first.Rgba[i] - second.Rgba[i]) + Math.Abs(first.Rgba[i + 1] - second.Rgba[i + 1]) + Math.Abs(first.Rgba[i + 2] - second.Rgba[i + 2]);
        }

        return sum / (first.Rgba.Length / 4 * 3.0);
    }
}
