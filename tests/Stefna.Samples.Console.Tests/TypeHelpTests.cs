using Stefna.Generators.CustomPrompt;
using Stefna.Generators.EmotionMask;
using Stefna.Generators.GhibliReaction;
using Stefna.Generators.NeoGlitch;
using Stefna.Generators.Presets;
using Stefna.Sdk.Generators;

namespace Stefna.Samples.Console.Tests;

/// <summary>The CLI describes and accepts the registered types from their definitions, not from a list of its own.</summary>
public class TypeHelpTests
{
    private static readonly GenerationTypeDefinition[] BuiltIn =
    [
        NeoGlitchGenerator.TypeDefinition, EmotionMaskGenerator.TypeDefinition, PresetsGenerator.TypeDefinition,
        GhibliReactionGenerator.TypeDefinition, CustomPromptGenerator.TypeDefinition,
    ];

    [Theory]
    [InlineData("generate")]
    [InlineData("submit")]
    public async Task Help_lists_every_registered_type_with_its_inputs_and_choices(string command)
    {
        using var cli = new Cli();
        var help = await cli.RunAsync(command, "--help");

        Assert.Equal(0, help.ExitCode);
        foreach (var type in BuiltIn)
        {
            Assert.Contains(type.Name, help.Stdout, StringComparison.Ordinal);
            foreach (var input in type.Inputs)
            {
                Assert.Contains("--" + input.Name, help.Stdout, StringComparison.Ordinal);
                Assert.Contains(string.Join(", ", input.Choices.Select(c => c.Key)), help.Stdout, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task Every_input_a_type_declares_is_an_option_that_reaches_the_job()
    {
        using var cli = new Cli();
        var job = await cli.JsonAsync("generate", "neo-glitch", "--image", Cli.Portrait, "--style", "visor");

        Assert.Equal("completed", job.GetProperty("status").GetString());
        Assert.Contains("visor", job.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
    }

    [Fact]
    public async Task A_bad_choice_fails_with_the_valid_choices()
    {
        using var cli = new Cli();
        var result = await cli.RunAsync("generate", "emotion-mask", "--image", Cli.Portrait, "--emotion", "grumpy");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("grumpy", result.Stderr, StringComparison.Ordinal);
        foreach (var choice in EmotionMaskGenerator.Type.Choices)
        {
            Assert.Contains(choice.Key, result.Stderr, StringComparison.Ordinal);
        }

        Assert.Equal(0, cli.CountRows("emotion_mask_media"));
    }

    [Fact]
    public async Task An_unknown_type_fails_with_the_registered_types()
    {
        using var cli = new Cli();
        var result = await cli.RunAsync("generate", "sticker", "--image", Cli.Portrait);

        Assert.NotEqual(0, result.ExitCode);
        foreach (var type in BuiltIn)
        {
            Assert.Contains(type.Name, result.Stderr, StringComparison.Ordinal);
        }
    }
}
