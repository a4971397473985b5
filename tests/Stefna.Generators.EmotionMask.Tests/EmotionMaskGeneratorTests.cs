using Microsoft.Extensions.DependencyInjection;
using Stefna.Sdk.Generators;
using Stefna.TestUtils;
using static Stefna.TestUtils.GeneratorTestKit;

namespace Stefna.Generators.EmotionMask.Tests;

public class EmotionMaskGeneratorTests
{
    private const string Type = EmotionMaskGenerator.TypeName;
    private static readonly IGenerator Sut = Generator(Build(b => b.AddEmotionMask()), Type);

    private static readonly IReadOnlyList<string> Emotions = [.. EmotionMaskGenerator.Type.Choices.Select(c => c.Key)];

    private static Dictionary<string, string> Emotion(string value) => new() { ["emotion"] = value };

    [Fact]
    public void Definition_names_the_type_its_table_and_its_emotion_column()
    {
        var definition = EmotionMaskGenerator.TypeDefinition;
        Assert.Equal("emotion-mask", definition.Name);
        Assert.Equal("emotion_mask_media", definition.TableName);
        Assert.Equal(["emotion"], definition.ExtraColumns);
        Assert.True(definition.RequiresSourceImage);
        Assert.Same(definition, Sut.Definition);
    }

    [Fact]
    public void The_documented_emotions_are_offered()
    {
        Assert.Equal(["joy", "sadness", "anger", "fear", "surprise", "disgust", "calm", "love"], Emotions);
    }

    [Fact]
    public async Task Unknown_emotion_is_refused_with_a_typed_error_naming_every_valid_emotion()
    {
        var error = await RefusedAsync(Sut, Request(Type, options: Emotion("smug")));

        Assert.Equal("emotion", error.Field);
        Assert.Equal("invalid_request.unknown_emotion", error.Code);
        Assert.Equal(Sdk.GenerationErrorCategory.InvalidRequest, error.Category);
        Assert.Contains("smug", error.Message, StringComparison.Ordinal);
        Assert.All(Emotions, e => Assert.Contains(e, error.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Missing_emotion_is_refused_and_names_the_valid_ones()
    {
        var error = await RefusedAsync(Sut, Request(Type));

        Assert.Equal("invalid_request.emotion_required", error.Code);
        Assert.All(Emotions, e => Assert.Contains(e, error.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Emotion_is_stored_in_its_own_column_and_as_a_tag()
    {
        var spec = await Sut.PrepareAsync(Request(Type, options: Emotion(" Joy "), tags: ["Mine"]), CancellationToken.None);

        Assert.Equal("joy", spec.Columns["emotion"]);
        Assert.Equal(["emotion-mask", "joy", "mine"], spec.Tags);
        Assert.Null(spec.Preset);
    }

    [Fact]
    public async Task Emotion_may_be_given_as_the_preset_and_the_option_wins_over_it()
    {
        var fromPreset = await Sut.PrepareAsync(Request(Type, preset: "fear"), CancellationToken.None);
        var both = await Sut.PrepareAsync(Request(Type, preset: "fear", options: Emotion("love")), CancellationToken.None);

        Assert.Equal("fear", fromPreset.Columns["emotion"]);
        Assert.Equal("love", both.Columns["emotion"]);
    }

    [Fact]
    public async Task Each_emotion_renders_its_own_template_with_the_users_prompt()
    {
        var prompts = new HashSet<string>();
        foreach (var emotion in Emotions)
        {
            var spec = await Sut.PrepareAsync(Request(Type, prompt: "a sailor", options: Emotion(emotion)), CancellationToken.None);
            var job = Job(Type, spec);
            var request = Sut.CreateProviderRequest(job, SourceImage());

            Assert.StartsWith("a sailor, ", request.Prompt, StringComparison.Ordinal);
            Assert.Contains(EmotionMaskGenerator.Type.Resolve(emotion).Template, request.Prompt, StringComparison.Ordinal);
            Assert.Equal(emotion, request.Parameters["emotion"]);
            Assert.Equal(job.Id, request.JobId);
            Assert.NotNull(request.SourceImage);
            prompts.Add(request.Prompt);
        }

        Assert.Equal(Emotions.Count, prompts.Count);
    }

    [Fact]
    public async Task Without_a_prompt_the_template_has_no_dangling_separator()
    {
        var spec = await Sut.PrepareAsync(Request(Type, options: Emotion("calm")), CancellationToken.None);
        var request = Sut.CreateProviderRequest(Job(Type, spec), SourceImage());

        Assert.StartsWith("serene calm portrait", request.Prompt, StringComparison.Ordinal);
        Assert.DoesNotContain("{", request.Prompt, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_stored_emotion_renders_as_calm_the_declared_fallback()
    {
        var job = Job(Type, new Sdk.Generators.GenerationSpec { Columns = new Dictionary<string, string?> { ["emotion"] = "smug" } });
        var request = Sut.CreateProviderRequest(job, null);

        Assert.StartsWith("serene calm portrait", request.Prompt, StringComparison.Ordinal);
        Assert.Equal("calm", request.Parameters["emotion"]);
    }

    [Fact]
    public async Task Same_job_renders_the_same_request()
    {
        var job = Job(Type, await Sut.PrepareAsync(Request(Type, options: Emotion("anger")), CancellationToken.None));
        var a = Sut.CreateProviderRequest(job, null);
        var b = Sut.CreateProviderRequest(job, null);

        Assert.Equal(a.Prompt, b.Prompt);
        Assert.Equal(a.Seed, b.Seed);
    }

    [Fact]
    public void Legacy_rule_claims_its_generation_type_mode_and_preset_prefix_only()
    {
        var rule = EmotionMaskGenerator.TypeDefinition.LegacyRule!;

        Assert.True(Claims(rule, generationType: "emotion-mask"));
        Assert.True(Claims(rule, generationType: "EMOTION_MASK"));
        Assert.True(Claims(rule, mode: "emotionmask"));
        Assert.True(Claims(rule, presetKey: "emotion_joy"));
        Assert.False(Claims(rule, generationType: "neo-glitch"));
        Assert.False(Claims(rule, mode: "custom"));
        Assert.False(Claims(rule, presetKey: "ghibli_crying"));
        Assert.False(rule.IsPromptFallback);
    }

    [Fact]
    public void Adding_twice_registers_once_and_resolves_as_keyed_generator()
    {
        var services = Services(b => b.AddEmotionMask().AddEmotionMask());

        Assert.Equal(1, GeneratorRegistrations(services, Type));
        using var provider = services.BuildServiceProvider();
        Assert.IsType<EmotionMaskGenerator>(provider.GetRequiredKeyedService<IGenerator>(Type));
    }
}
