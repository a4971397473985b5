using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Stefna.Sdk;
using Stefna.Sdk.Generators;
using static Stefna.TestUtils.GeneratorTestKit;

namespace Stefna.Generators.CustomPrompt.Tests;

public class CustomPromptGeneratorTests
{
    private const string Type = CustomPromptGenerator.TypeName;

    private static IGenerator Create(Action<IStefnaBuilder>? more = null, Action<CustomPromptOptions>? options = null) =>
        Generator(Build(b =>
        {
            b.AddCustomPrompt(options, configure: null);
            more?.Invoke(b);
        }), Type);

    [Fact]
    public void Definition_names_the_type_and_table_and_makes_the_image_optional()
    {
        var definition = CustomPromptGenerator.TypeDefinition;
        Assert.Equal("custom-prompt", definition.Name);
        Assert.Equal("custom_prompt_media", definition.TableName);
        Assert.False(definition.RequiresSourceImage);
        Assert.Empty(definition.ExtraColumns);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("   ")]
    public async Task A_prompt_is_required(string? prompt)
    {
        var error = await RefusedAsync(Create(), Request(Type, prompt: prompt));

        Assert.Equal("prompt", error.Field);
        Assert.Equal("invalid_request.prompt_required", error.Code);
    }

    [Fact]
    public async Task Default_limit_is_1000_characters_whatever_the_sdk_wide_limit()
    {
        var sut = Create(b => b.Configure(o => o.MaxPromptLength = 5000));

        var accepted = await sut.PrepareAsync(Request(Type, prompt: new string('a', 1000)), CancellationToken.None);
        var error = await RefusedAsync(sut, Request(Type, prompt: new string('a', 1001)));

        Assert.Equal(1000, accepted.Prompt!.Length);
        Assert.Equal("invalid_request.prompt_too_long", error.Code);
        Assert.Contains("1001", error.Message, StringComparison.Ordinal);
        Assert.Contains("1000", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Limit_is_configurable()
    {
        var sut = Create(options: o => o.MaxPromptLength = 20);

        await sut.PrepareAsync(Request(Type, prompt: new string('b', 20)), CancellationToken.None);
        var error = await RefusedAsync(sut, Request(Type, prompt: new string('b', 21)));

        Assert.Contains("at most 20", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(100_001)]
    public void Limit_out_of_range_fails_options_validation(int limit)
    {
        using var services = Build(b => b.AddCustomPrompt(o => o.MaxPromptLength = limit, configure: null));

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<CustomPromptOptions>>().Value);
        Assert.Contains("MaxPromptLength", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_registered_policy_sees_the_type_and_normalised_prompt_and_its_rejection_carries_its_reason()
    {
        var policy = new RecordingPolicy(PromptPolicyResult.Reject("it asks for a real person's likeness", "likeness"));
        var sut = Create(b => b.AddPromptPolicy(_ => policy));

        var error = await RefusedAsync(sut, Request(Type, prompt: "  a portrait of someone famous  "));

        Assert.Equal(GenerationErrorCategory.InvalidRequest, error.Category);
        Assert.Equal("prompt", error.Field);
        Assert.Equal("invalid_request.likeness", error.Code);
        Assert.Contains("it asks for a real person's likeness", error.Message, StringComparison.Ordinal);
        Assert.Equal([(Type, "a portrait of someone famous")], policy.Calls);
    }

    [Fact]
    public async Task Every_policy_runs_when_all_allow_and_the_first_rejection_stops_the_rest()
    {
        var first = new RecordingPolicy(PromptPolicyResult.Allowed);
        var second = new RecordingPolicy(PromptPolicyResult.Allowed);
        var allowing = Create(b => b.AddPromptPolicy(_ => first).AddPromptPolicy(_ => second));
        await allowing.PrepareAsync(Request(Type, prompt: "a lighthouse"), CancellationToken.None);
        Assert.Single(first.Calls);
        Assert.Single(second.Calls);

        var rejecting = new RecordingPolicy(PromptPolicyResult.Reject("no"));
        var after = new RecordingPolicy(PromptPolicyResult.Allowed);
        var blocked = Create(b => b.AddPromptPolicy(_ => rejecting).AddPromptPolicy(_ => after));
        var error = await RefusedAsync(blocked, Request(Type, prompt: "a lighthouse"));
        Assert.Equal("invalid_request.prompt_rejected", error.Code);
        Assert.Empty(after.Calls);
    }

    [Fact]
    public async Task A_canceled_validation_does_not_consult_policies()
    {
        var policy = new RecordingPolicy(PromptPolicyResult.Allowed);
        var sut = Create(b => b.AddPromptPolicy(_ => policy));
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await sut.PrepareAsync(Request(Type, prompt: "x"), cts.Token));
        Assert.Empty(policy.Calls);
    }

    [Fact]
    public async Task Blocked_terms_policy_rejects_whole_words_ignoring_case_and_accents_and_names_the_term()
    {
        var sut = Create(b => b.AddBlockedTermsPromptPolicy("gore", "blood bath", "cafe"));

        var gore = await RefusedAsync(sut, Request(Type, prompt: "Lots of GORE, please"));
        Assert.Equal("invalid_request.blocked_term", gore.Code);
        Assert.Contains("'gore'", gore.Message, StringComparison.Ordinal);

        var phrase = await RefusedAsync(sut, Request(Type, prompt: "a Blood-Bath at dawn"));
        Assert.Contains("'blood bath'", phrase.Message, StringComparison.Ordinal);

        var accented = await RefusedAsync(sut, Request(Type, prompt: "a quiet café"));
        Assert.Contains("'cafe'", accented.Message, StringComparison.Ordinal);

        // Substrings of other words are fine.
        await sut.PrepareAsync(Request(Type, prompt: "a gorge at sunset, bloodbath-free, cafeteria"), CancellationToken.None);
    }

    public static TheoryData<string, string> Disguises => new()
    {
        { "zero-width space", "a na\u200Bked statue" },
        { "soft hyphen", "a na\u00ADked statue" },
        { "word joiner", "a nak\u2060ed statue" },
        { "zero-width joiner and non-joiner", "a n\u200Dak\u200Ced statue" },
        { "invisible tag characters", "a nak\U000E0041\U000E0042ed statue" },
        { "variation selector", "a nake\uFE0Fd statue" },
        { "fullwidth letters", "a \uFF4E\uFF41\uFF4B\uFF45\uFF44 statue" },
        { "mathematical bold letters", "a \U0001D427\U0001D41A\U0001D424\U0001D41E\U0001D41D statue" },
        { "Cyrillic e", "a nak\u0435d statue" },
        { "Cyrillic a and o", "\u0430 b\u043Ey at the beach" },
        { "Greek alpha and omicron", "a n\u03B1ked st\u03B1tue" },
        { "Cyrillic capitals", "A NAK\u0415D STATUE" },
    };

    /// <summary>Issue 16: each of these passed the filter before it compared Unicode skeletons (UTS #39).</summary>
    [Theory]
    [MemberData(nameof(Disguises))]
    public async Task Blocked_terms_policy_sees_through_invisible_characters_and_look_alikes(string disguise, string prompt)
    {
        var sut = Create(b => b.AddBlockedTermsPromptPolicy("naked", "a boy"));

        var error = await RefusedAsync(sut, Request(Type, prompt: prompt));

        Assert.True(error.Code == "invalid_request.blocked_term", $"{disguise}: {error.Code}");
    }

    [Fact]
    public void Skeletons_of_look_alikes_are_equal_and_of_different_words_are_not()
    {
        Assert.Equal("naked", PromptText.Skeleton("ＮＡｋ\u0435\u200Bd"));
        Assert.Equal(PromptText.Skeleton("paypal"), PromptText.Skeleton("\u0440\u0430yp\u0430l"));
        Assert.NotEqual(PromptText.Skeleton("naked"), PromptText.Skeleton("baked"));
        Assert.True(PromptText.IsDefaultIgnorable(0x00AD));
        Assert.False(PromptText.IsDefaultIgnorable('a'));
    }

    [Fact]
    public async Task Blocked_terms_policy_can_be_limited_to_other_types()
    {
        var sut = Create(b => b.AddBlockedTermsPromptPolicy(o =>
        {
            o.Terms.Add("gore");
            o.Types.Add("presets");
        }));

        var spec = await sut.PrepareAsync(Request(Type, prompt: "gore"), CancellationToken.None);
        Assert.Equal("gore", spec.Prompt);

        var policy = new BlockedTermsPromptPolicy(new StaticMonitor(new BlockedTermsPromptPolicyOptions { Terms = { "gore" }, Types = { "presets" } }));
        Assert.False((await policy.EvaluateAsync("presets", "gore", CancellationToken.None)).IsAllowed);
    }

    [Fact]
    public async Task With_an_image_it_works_image_to_image_and_without_one_text_to_image()
    {
        var sut = Create();

        var withImage = await sut.PrepareAsync(Request(Type, prompt: "a castle in the clouds"), CancellationToken.None);
        var i2i = sut.CreateProviderRequest(Job(Type, withImage), SourceImage());
        Assert.Contains("image-to-image", withImage.Tags);
        Assert.Null(i2i.Model); // the provider's options choose the model
        Assert.NotNull(i2i.Strength);
        Assert.NotNull(i2i.SourceImage);

        var withoutImage = await sut.PrepareAsync(Request(Type, prompt: "a castle in the clouds", withImage: false), CancellationToken.None);
        var t2i = sut.CreateProviderRequest(Job(Type, withoutImage, sourceImageUrl: null), null);
        Assert.Contains("text-to-image", withoutImage.Tags);
        Assert.Null(t2i.Model);
        Assert.Null(t2i.Strength);
        Assert.Null(t2i.SourceImage);

        Assert.Equal(["custom-prompt", "text-to-image"], withoutImage.Tags);
        Assert.StartsWith("a castle in the clouds", t2i.Prompt, StringComparison.Ordinal);
        Assert.Equal("text-to-image", t2i.Parameters["mode"]);
    }

    [Fact]
    public void Legacy_rule_claims_its_signals_and_is_the_prompt_fallback()
    {
        var rule = CustomPromptGenerator.TypeDefinition.LegacyRule!;

        Assert.True(Claims(rule, generationType: "custom-prompt"));
        Assert.True(Claims(rule, generationType: "Custom_Prompt"));
        Assert.True(Claims(rule, mode: "custom"));
        Assert.False(Claims(rule, mode: "preset"));
        Assert.Empty(rule.PresetKeyPrefixes);
        Assert.Empty(rule.PresetKeys);
        Assert.True(rule.IsPromptFallback);
    }

    [Fact]
    public void Adding_twice_registers_once_and_resolves_as_keyed_generator()
    {
        var services = Services(b => b.AddCustomPrompt().AddCustomPrompt().AddBlockedTermsPromptPolicy("x").AddBlockedTermsPromptPolicy("y"));

        Assert.Equal(1, GeneratorRegistrations(services, Type));
        Assert.Equal(1, services.Count(d => d.ServiceType == typeof(IPromptPolicy)));
        using var provider = services.BuildServiceProvider();
        Assert.IsType<CustomPromptGenerator>(provider.GetRequiredKeyedService<IGenerator>(Type));
        Assert.Equal(["x", "y"], provider.GetRequiredService<IOptions<BlockedTermsPromptPolicyOptions>>().Value.Terms);
    }

    private sealed class RecordingPolicy(PromptPolicyResult result) : IPromptPolicy
    {
        public ConcurrentQueue<(string Type, string Prompt)> Queue { get; } = new();

        public IReadOnlyList<(string Type, string Prompt)> Calls => [.. Queue];

        public ValueTask<PromptPolicyResult> EvaluateAsync(string type, string prompt, CancellationToken cancellationToken)
        {
            Queue.Enqueue((type, prompt));
            return ValueTask.FromResult(result);
        }
    }

    private sealed class StaticMonitor(BlockedTermsPromptPolicyOptions value) : IOptionsMonitor<BlockedTermsPromptPolicyOptions>
    {
        public BlockedTermsPromptPolicyOptions CurrentValue => value;

        public BlockedTermsPromptPolicyOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<BlockedTermsPromptPolicyOptions, string?> listener) => null;
    }
}
