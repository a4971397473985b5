using Microsoft.Extensions.DependencyInjection;
using Stefna.Sdk.Generators;
using static Stefna.TestUtils.GeneratorTestKit;

namespace Stefna.Generators.GhibliReaction.Tests;

public class GhibliReactionGeneratorTests
{
    private const string Type = GhibliReactionGenerator.TypeName;
    private static readonly IGenerator Sut = Generator(Build(b => b.AddGhibliReaction()), Type);

    private static readonly IReadOnlyList<string> Reactions = [.. GhibliReactionGenerator.Type.Choices.Select(c => c.Key)];

    private static Dictionary<string, string> Reaction(string value) => new() { ["reaction"] = value };

    [Fact]
    public void Definition_names_the_type_its_table_and_its_reaction_column()
    {
        var definition = GhibliReactionGenerator.TypeDefinition;
        Assert.Equal("ghibli-reaction", definition.Name);
        Assert.Equal("ghibli_reaction_media", definition.TableName);
        Assert.Equal(["reaction"], definition.ExtraColumns);
        Assert.True(definition.RequiresSourceImage);
        Assert.Same(definition, Sut.Definition);
    }

    [Fact]
    public void The_documented_reactions_are_offered_and_the_default_is_one_of_them()
    {
        Assert.Equal(["surprised", "crying", "laughing", "blushing", "angry", "sleepy", "starry-eyed"], Reactions);
        Assert.Contains(GhibliReactionGenerator.Type.Default!, Reactions);
    }

    [Fact]
    public async Task Unknown_reaction_is_refused_with_a_typed_error_naming_every_valid_reaction()
    {
        var error = await RefusedAsync(Sut, Request(Type, options: Reaction("bored")));

        Assert.Equal("reaction", error.Field);
        Assert.Equal("invalid_request.unknown_reaction", error.Code);
        Assert.Contains("bored", error.Message, StringComparison.Ordinal);
        Assert.All(Reactions, r => Assert.Contains(r, error.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Missing_reaction_takes_the_default()
    {
        var spec = await Sut.PrepareAsync(Request(Type), CancellationToken.None);

        Assert.Equal(GhibliReactionGenerator.Type.Default, spec.Columns["reaction"]);
    }

    [Fact]
    public async Task Reaction_is_stored_in_its_own_column_and_tagged()
    {
        var spec = await Sut.PrepareAsync(Request(Type, options: Reaction("Starry-Eyed"), tags: ["spring"]), CancellationToken.None);

        Assert.Equal("starry-eyed", spec.Columns["reaction"]);
        Assert.Equal(["ghibli-reaction", "ghibli", "starry-eyed", "spring"], spec.Tags);
    }

    [Fact]
    public async Task Reaction_may_be_given_as_the_preset_and_the_option_wins_over_it()
    {
        var fromPreset = await Sut.PrepareAsync(Request(Type, preset: "sleepy"), CancellationToken.None);
        var both = await Sut.PrepareAsync(Request(Type, preset: "sleepy", options: Reaction("crying")), CancellationToken.None);

        Assert.Equal("sleepy", fromPreset.Columns["reaction"]);
        Assert.Equal("crying", both.Columns["reaction"]);
    }

    [Fact]
    public async Task Each_reaction_renders_its_own_template()
    {
        var prompts = new HashSet<string>();
        foreach (var reaction in Reactions)
        {
            var spec = await Sut.PrepareAsync(Request(Type, prompt: "a girl on a hill", options: Reaction(reaction)), CancellationToken.None);
            var request = Sut.CreateProviderRequest(Job(Type, spec), SourceImage());

            Assert.StartsWith("a girl on a hill, ", request.Prompt, StringComparison.Ordinal);
            Assert.Contains(GhibliReactionGenerator.Type.Resolve(reaction).Template, request.Prompt, StringComparison.Ordinal);
            Assert.Contains("Ghibli", request.Prompt, StringComparison.Ordinal);
            Assert.Equal(reaction, request.Parameters["reaction"]);
            prompts.Add(request.Prompt);
        }

        Assert.Equal(Reactions.Count, prompts.Count);
    }

    [Fact]
    public async Task Without_a_prompt_the_reaction_text_starts_the_prompt()
    {
        var request = Sut.CreateProviderRequest(Job(Type, await Sut.PrepareAsync(Request(Type), CancellationToken.None)), null);

        Assert.StartsWith("wide sparkling eyes", request.Prompt, StringComparison.Ordinal);
    }

    [Fact]
    public void Legacy_rule_claims_its_generation_type_mode_and_preset_prefix_only()
    {
        var rule = GhibliReactionGenerator.TypeDefinition.LegacyRule!;

        Assert.True(Claims(rule, generationType: "ghibli_reaction"));
        Assert.True(Claims(rule, mode: "ghiblireact"));
        Assert.True(Claims(rule, mode: "GhibliReact"));
        Assert.True(Claims(rule, presetKey: "ghibli_crying"));
        Assert.False(Claims(rule, generationType: "emotion-mask"));
        Assert.False(Claims(rule, mode: "emotionmask"));
        Assert.False(Claims(rule, presetKey: "emotion_joy"));
        Assert.False(rule.IsPromptFallback);
    }

    [Fact]
    public void Adding_twice_registers_once_and_resolves_as_keyed_generator()
    {
        var services = Services(b => b.AddGhibliReaction().AddGhibliReaction(o => o.MaxInFlight = 2));

        Assert.Equal(1, GeneratorRegistrations(services, Type));
        using var provider = services.BuildServiceProvider();
        Assert.IsType<GhibliReactionGenerator>(provider.GetRequiredKeyedService<IGenerator>(Type));
        Assert.Equal(2, provider.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<Sdk.Configuration.GenerationTypeOptions>>().Get(Type).MaxInFlight);
    }
}
