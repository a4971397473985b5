using Xunit.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Stefna.Sdk.Imaging;
using Stefna.Generators.NeoGlitch;
using Stefna.TestUtils;
using static Stefna.Sdk.Providers.Offline.Tests.OfflineTestSupport;

namespace Stefna.Sdk.Providers.Offline.Tests;

public class OfflineImageProviderTests(ITestOutputHelper output)
{
    // "Visibly different": on average every colour channel of every pixel moved this far (of 255).
    private const double VisibleChange = 12;

    // Two looks count as different when their pixels differ at least this much on average.
    private const double DistinctLooks = 4;

    private static readonly byte[] Source = TestImages.Png(200, 150, seed: 3);

    public static TheoryData<string> AllTypes => ["neo-glitch", "emotion-mask", "presets", "ghibli-reaction", "custom-prompt", "acme-pixel-sorter"];

    [Theory]
    [MemberData(nameof(AllTypes))]
    public async Task Output_is_a_PNG_of_the_source_size_that_the_SDK_inspector_accepts(string type)
    {
        var png = await Provider().RenderAsync(Request(type, Source));

        Assert.True(png.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), "PNG signature");
        var (width, height, _) = Decode(png);
        Assert.Equal((200, 150), (width, height));
        var info = ImageInspector.Inspect(png);
        Assert.Equal(new ImageInfo(ImageFormat.Png, 200, 150), info);
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public async Task Output_pixels_differ_visibly_from_the_source(string type)
    {
        var png = await Provider().RenderAsync(Request(type, Source));

        var difference = MeanAbsoluteDifference(Source, png);
        Assert.True(difference > VisibleChange, $"{type}: mean absolute difference {difference:0.00} should exceed {VisibleChange}");
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public async Task The_same_request_and_source_give_byte_identical_output_even_across_provider_instances(string type)
    {
        var request = Request(type, Source, new Dictionary<string, string> { ["style"] = "visor", ["emotion"] = "joy", ["preset"] = "golden_hour", ["reaction"] = "laughing" });

        var first = await Provider().RenderAsync(request);
        var second = await Provider().RenderAsync(request with { JobId = Guid.NewGuid() });

        Assert.Equal(first, second);
    }

    [Fact]
    public async Task The_five_types_give_pairwise_different_images_from_one_source()
    {
        var provider = Provider();
        var outputs = new Dictionary<string, byte[]>();
        foreach (var type in BuiltInTypes)
        {
            outputs[type] = await provider.RenderAsync(Request(type, Source));
        }

        AssertPairwiseDistinct(outputs);
    }

    // Within a type, two choices count as visibly different when their pixels differ at least this much on average
    // (of 255) on the sample portrait. Before looks were the types' own, several presets and the Ghibli reactions were
    // near-identical recolours: measured then, film_noir vs editorial_fashion 0.98, Neo Glitch base vs visor 6.13,
    // Ghibli surprised vs starry-eyed 10.90.
    private const double DistinctChoices = 12;

    public static TheoryData<string> TypesWithChoices => [.. BuiltInChoices.Keys];

    [Theory]
    [MemberData(nameof(TypesWithChoices))]
    public async Task Within_a_type_any_two_choices_render_visibly_differently_on_the_portrait(string type)
    {
        var provider = Provider();
        var outputs = new Dictionary<string, byte[]>();
        foreach (var (key, look) in BuiltInChoices[type])
        {
            Assert.False(string.IsNullOrWhiteSpace(look), $"{type}/{key} has no offline look");
            outputs[key] = await provider.RenderAsync(Request(type, Portrait) with { Look = look });
        }

        var keys = outputs.Keys.ToList();
        var closest = (Difference: double.MaxValue, Pair: string.Empty);
        for (var i = 0; i < keys.Count; i++)
        {
            for (var j = i + 1; j < keys.Count; j++)
            {
                var difference = MeanAbsoluteDifference(outputs[keys[i]], outputs[keys[j]]);
                closest = difference < closest.Difference ? (difference, $"{keys[i]} vs {keys[j]}") : closest;
            }
        }

        output.WriteLine($"{type}: closest pair {closest.Pair}: {closest.Difference:0.00}");
        Assert.True(closest.Difference > DistinctChoices, $"{type}: {closest.Pair} differ by {closest.Difference:0.00} on average, not more than {DistinctChoices}");
    }

    [Fact]
    public async Task The_look_alone_decides_the_rendering_whatever_the_type_is_called()
    {
        var provider = Provider();
        var look = NeoGlitchGenerator.Type.LookOf(NeoGlitchGenerator.Type.Choices[1]);
        var asNeoGlitch = await provider.RenderAsync(Request("neo-glitch", Source) with { Look = look });
        var asThirdParty = await provider.RenderAsync(Request("acme-sticker", Source) with { Look = look });

        Assert.Equal(asNeoGlitch, asThirdParty);
    }

    [Fact]
    public async Task Without_a_look_a_built_in_type_name_gets_the_generic_look_like_any_other()
    {
        var provider = Provider();
        var response = await provider.SubmitAsync(Request("neo-glitch", Source) with { Look = null }, CancellationToken.None);

        Assert.StartsWith("generic:", Assert.IsType<ProviderResponse.Completed>(response).Image.Meta["effect"], StringComparison.Ordinal);
    }

    [Fact]
    public void The_offline_provider_and_the_core_name_no_built_in_type()
    {
        var root = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(PortraitPath)!, "..", ".."));
        var names = new[] { "neo-glitch", "emotion-mask", "presets", "ghibli-reaction", "custom-prompt", "neo_glitch", "emotion_mask", "ghibli_reaction", "custom_prompt" };
        var offenders = new List<string>();
        foreach (var project in new[] { "src/Stefna.Sdk", "src/Stefna.Sdk.Providers.Offline" })
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(root, project), "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal)))
            {
                var lineNumber = 0;
                foreach (var line in File.ReadLines(file))
                {
                    lineNumber++;
                    if (line.TrimStart().StartsWith("//", StringComparison.Ordinal))
                    {
                        continue; // doc comments may use a built-in type as an example
                    }

                    offenders.AddRange(names.Where(n => line.Contains('"' + n + '"', StringComparison.Ordinal)).Select(n => $"{Path.GetRelativePath(root, file)}:{lineNumber} names \"{n}\""));
                }
            }
        }

        Assert.Empty(offenders);
    }

    [Theory]
    [InlineData("saturate(1.2) sparkle(3)", "unknown operation 'sparkle'")]
    [InlineData("saturate(much)", "saturate() needs a number")]
    [InlineData("tint(red, 0.5)", "tint() needs a colour #rrggbb")]
    [InlineData("saturate(1.2) ; drop", "cannot read")]
    public async Task A_malformed_look_is_an_invalid_request_that_lists_the_operations(string look, string expected)
    {
        var error = await Assert.ThrowsAsync<GenerationException>(async () => await Provider().SubmitAsync(Request("acme-sticker", Source) with { Look = look }, CancellationToken.None));

        Assert.Equal(GenerationErrorCategory.InvalidRequest, error.Category);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains("posterize(levels)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Custom_prompt_colours_follow_the_prompt()
    {
        var provider = Provider();
        var outputs = new Dictionary<string, byte[]>();
        foreach (var prompt in new[] { "a dragon at dawn", "a cat in the rain", "city lights" })
        {
            outputs[prompt] = await provider.RenderAsync(Request("custom-prompt", Source, prompt: prompt));
        }

        AssertPairwiseDistinct(outputs);
    }

    [Fact]
    public async Task The_seed_changes_the_glitch_pattern()
    {
        var provider = Provider();
        var one = await provider.RenderAsync(Request("neo-glitch", Source, seed: 1));
        var two = await provider.RenderAsync(Request("neo-glitch", Source, seed: 2));

        Assert.NotEqual(one, two);
    }

    [Fact]
    public async Task An_unknown_third_party_type_yields_a_valid_image_unlike_the_source_and_the_built_in_looks()
    {
        var provider = Provider();
        var thirdParty = await provider.RenderAsync(Request("acme-pixel-sorter", Source));
        var other = await provider.RenderAsync(Request("contoso-sketch", Source));

        Assert.Equal(new ImageInfo(ImageFormat.Png, 200, 150), ImageInspector.Inspect(thirdParty));
        Assert.True(MeanAbsoluteDifference(Source, thirdParty) > VisibleChange);
        Assert.True(MeanAbsoluteDifference(thirdParty, other) > DistinctLooks, "two unknown type names should get different looks");
        foreach (var type in BuiltInTypes)
        {
            var builtIn = await provider.RenderAsync(Request(type, Source));
            Assert.True(MeanAbsoluteDifference(thirdParty, builtIn) > DistinctLooks, $"unknown type vs {type}");
        }
    }

    public static TheoryData<string, byte[]> Undecodable => new()
    {
        { "corrupt PNG", TestImages.CorruptPng() },
        { "truncated PNG", TestImages.TruncatedPng(200) },
        { "random bytes", RandomBytes() },
        { "text", "this is not an image"u8.ToArray() },
        { "empty", Array.Empty<byte>() },
    };

    [Theory]
    [MemberData(nameof(Undecodable))]
    public async Task An_undecodable_source_is_an_invalid_request_with_a_clear_message(string what, byte[] bytes)
    {
        var provider = Provider();

        var ex = await Assert.ThrowsAsync<GenerationException>(async () => await provider.SubmitAsync(Request("neo-glitch", bytes), CancellationToken.None));

        Assert.True(ex.Category == GenerationErrorCategory.InvalidRequest, $"{what}: category {ex.Category}");
        Assert.StartsWith("invalid_request.", ex.Code, StringComparison.Ordinal);
        Assert.Contains("source image", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_source_with_more_pixels_than_allowed_is_refused_before_decoding()
    {
        var provider = Provider(o => o.MaxSourcePixels = 100 * 100);

        var ex = await Assert.ThrowsAsync<GenerationException>(async () => await provider.SubmitAsync(Request("presets", TestImages.Png(200, 150)), CancellationToken.None));

        Assert.Equal(GenerationErrorCategory.InvalidRequest, ex.Category);
        Assert.Equal("invalid_request.too_many_pixels", ex.Code);
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public async Task Text_to_image_without_a_source_renders_a_deterministic_512_square(string type)
    {
        var provider = Provider();
        var request = Request(type, source: null, prompt: "a lighthouse on a cliff");

        var first = await provider.RenderAsync(request);
        var again = await provider.RenderAsync(request);
        var otherPrompt = await provider.RenderAsync(request with { Prompt = "a forest of glass trees" });

        Assert.Equal(new ImageInfo(ImageFormat.Png, 512, 512), ImageInspector.Inspect(first));
        Assert.Equal(first, again);
        Assert.True(MeanAbsoluteDifference(first, otherPrompt) > DistinctLooks, "different prompts should draw different canvases");
    }

    [Fact]
    public async Task The_text_to_image_canvas_is_not_larger_than_MaxDimension()
    {
        var png = await Provider(o => o.MaxDimension = 128).RenderAsync(Request("custom-prompt", source: null));

        Assert.Equal(new ImageInfo(ImageFormat.Png, 128, 128), ImageInspector.Inspect(png));
    }

    [Fact]
    public async Task A_large_source_is_downscaled_to_MaxDimension_keeping_its_aspect_ratio()
    {
        var provider = Provider(o => o.MaxDimension = 300);

        var landscape = await provider.RenderAsync(Request("presets", TestImages.Png(1200, 800)));
        var portrait = await provider.RenderAsync(Request("presets", TestImages.Png(600, 1500)));

        Assert.Equal(new ImageInfo(ImageFormat.Png, 300, 200), ImageInspector.Inspect(landscape));
        Assert.Equal(new ImageInfo(ImageFormat.Png, 120, 300), ImageInspector.Inspect(portrait));
    }

    [Fact]
    public async Task By_default_the_longest_side_is_at_most_1024()
    {
        var png = await Provider().RenderAsync(Request("emotion-mask", TestImages.Png(2048, 1024)));

        Assert.Equal(new ImageInfo(ImageFormat.Png, 1024, 512), ImageInspector.Inspect(png));
    }

    [Fact]
    public async Task The_simulated_latency_is_awaited_on_the_time_provider()
    {
        var time = new FakeTimeProvider();
        var provider = Provider(o => o.SimulatedLatency = TimeSpan.FromSeconds(30), time);

        var pending = provider.SubmitAsync(Request("presets", Source), CancellationToken.None).AsTask();
        await Task.Delay(50);
        Assert.False(pending.IsCompleted, "the provider answered before the simulated latency passed");

        time.Advance(TimeSpan.FromSeconds(30));
        var response = await pending.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.IsType<ProviderResponse.Completed>(response);
    }

    [Fact]
    public async Task Cancellation_during_the_simulated_latency_is_honoured()
    {
        var time = new FakeTimeProvider();
        var provider = Provider(o => o.SimulatedLatency = TimeSpan.FromHours(1), time);
        using var cancellation = new CancellationTokenSource();

        var pending = provider.SubmitAsync(Request("neo-glitch", Source), cancellation.Token).AsTask();
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task An_already_canceled_call_does_not_render()
    {
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await Provider().SubmitAsync(Request("neo-glitch", Source), cancellation.Token));
    }

    [Fact]
    public async Task Concurrent_renders_on_one_provider_are_identical_to_a_serial_render()
    {
        var provider = Provider();
        var request = Request("ghibli-reaction", Source);
        var expected = await provider.RenderAsync(request);

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => provider.RenderAsync(request))));

        Assert.All(results, r => Assert.Equal(expected, r));
    }

    [Fact]
    public async Task Transparency_of_the_source_is_kept()
    {
        var source = Encode(SkiaSharp.SKEncodedImageFormat.Png, 64, 64, (x, y) => x < 32 ? new SkiaSharp.SKColor(200, 60, 40, 0) : new SkiaSharp.SKColor(40, 160, 220, 255));

        // A grade moves no pixels, so the transparent half must stay where it was.
        var png = await Provider().RenderAsync(Request("presets", source));

        var (width, _, rgba) = Decode(png);
        Assert.Equal(0, rgba[((10 * width) + 5) * 4 + 3]);
        Assert.Equal(255, rgba[((10 * width) + 50) * 4 + 3]);
    }

    [Theory]
    [InlineData(SkiaSharp.SKEncodedImageFormat.Jpeg)]
    [InlineData(SkiaSharp.SKEncodedImageFormat.Webp)]
    public async Task Jpeg_and_WebP_sources_are_decoded(SkiaSharp.SKEncodedImageFormat format)
    {
        var source = Encode(format, 120, 90, (x, y) => new SkiaSharp.SKColor((byte)(x * 2), (byte)(y * 2), 128));

        var png = await Provider().RenderAsync(Request("emotion-mask", source));

        Assert.Equal(new ImageInfo(ImageFormat.Png, 120, 90), ImageInspector.Inspect(png));
    }

    [Fact]
    public async Task The_response_carries_the_effect_and_size_in_its_metadata()
    {
        var response = await Provider().SubmitAsync(Request("neo-glitch", Source, new Dictionary<string, string> { ["style"] = "visor" }), CancellationToken.None);

        var image = Assert.IsType<ProviderResponse.Completed>(response).Image;
        Assert.Equal("offline", image.Meta["provider"]);
        Assert.Equal("look:contrast+tritone+visor+rgb-split+slices+scanlines", image.Meta["effect"]);
        Assert.Equal("200", image.Meta["width"]);
        Assert.Equal("150", image.Meta["height"]);
        Assert.Equal("42", image.Meta["seed"]);
    }

    [Fact]
    public async Task Poll_is_not_supported_because_the_provider_answers_at_once()
    {
        var provider = Provider();

        await Assert.ThrowsAsync<NotSupportedException>(async () => await provider.PollAsync("job-1", Request("presets", Source), CancellationToken.None));
        Assert.Equal("offline", provider.Name);
    }

    private static void AssertPairwiseDistinct(Dictionary<string, byte[]> outputs)
    {
        var keys = outputs.Keys.ToList();
        for (var i = 0; i < keys.Count; i++)
        {
            for (var j = i + 1; j < keys.Count; j++)
            {
                var difference = MeanAbsoluteDifference(outputs[keys[i]], outputs[keys[j]]);
                Assert.True(difference > DistinctLooks, $"{keys[i]} vs {keys[j]}: mean absolute difference {difference:0.00} should exceed {DistinctLooks}");
            }
        }
    }

    private static byte[] Encode(SkiaSharp.SKEncodedImageFormat format, int width, int height, Func<int, int, SkiaSharp.SKColor> pixel)
    {
        using var bitmap = new SkiaSharp.SKBitmap(new SkiaSharp.SKImageInfo(width, height, SkiaSharp.SKColorType.Rgba8888, SkiaSharp.SKAlphaType.Unpremul));
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                bitmap.SetPixel(x, y, pixel(x, y));
            }
        }

        using var data = bitmap.Encode(format, 90);
        return data.ToArray();
    }

    private static byte[] RandomBytes()
    {
        var bytes = new byte[4096];
        new Random(1234).NextBytes(bytes);
        return bytes;
    }
}
