using Microsoft.Extensions.DependencyInjection;
using Stefna.Generators.NeoGlitch;
using Stefna.Sdk;
using Stefna.TestUtils;
using static Stefna.TestUtils.GeneratorTestKit;

namespace Stefna.Generators.NeoGlitch.Tests;

public class NeoGlitchGeneratorTests
{
    private const string Type = NeoGlitchGenerator.TypeName;

    private static Stefna.Sdk.Generators.IGenerator Create() => Generator(Build(b => b.AddNeoGlitch()), Type);

    [Fact]
    public void Definition_names_its_own_table_and_legacy_signals()
    {
        var definition = NeoGlitchGenerator.TypeDefinition;
        Assert.Equal("neo-glitch", definition.Name);
        Assert.Equal("neo_glitch_media", definition.TableName);
        Assert.Equal(["style"], definition.ExtraColumns);
        Assert.True(definition.RequiresSourceImage);
        Assert.Contains("neotokyo", definition.LegacyRule!.Modes);
        Assert.Contains("neo-glitch", definition.LegacyRule.GenerationTypes);
        Assert.Equal(["neo_tokyo", "neo-tokyo"], definition.LegacyRule.PresetKeyPrefixes);
    }

    [Fact]
    public async Task Default_style_is_base_and_tags_name_the_type_and_style()
    {
        var spec = await Create().PrepareAsync(Request(Type), CancellationToken.None);
        Assert.Equal("base", spec.Columns["style"]);
        Assert.Null(spec.Preset);
        Assert.Equal(["neo-glitch", "neo-tokyo", "base"], spec.Tags);
    }

    [Theory]
    [InlineData("visor")]
    [InlineData("TATTOOS")]
    [InlineData(" scanlines ")]
    public async Task Known_styles_are_accepted_case_insensitively(string style)
    {
        var spec = await Create().PrepareAsync(Request(Type, preset: style), CancellationToken.None);
        Assert.Equal(style.Trim().ToLowerInvariant(), spec.Columns["style"]);
    }

    [Fact]
    public async Task An_unknown_style_is_refused_naming_the_valid_ones()
    {
        var ex = await Assert.ThrowsAsync<GenerationValidationException>(async () => await Create().PrepareAsync(Request(Type, preset: "sparkles"), CancellationToken.None));
        Assert.Equal("style", ex.Field);
        Assert.Equal("invalid_request.unknown_style", ex.Code);
        foreach (var style in NeoGlitchGenerator.Type.Choices)
        {
            Assert.Contains(style.Key, ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_prompt_template_carries_the_user_prompt_and_the_style()
    {
        var generator = Create();
        var spec = await generator.PrepareAsync(Request(Type, prompt: "rainy alley", preset: "visor"), CancellationToken.None);
        var job = Job(Type, spec);
        var request = generator.CreateProviderRequest(job, null);
        Assert.StartsWith("rainy alley, glowing holographic visor across the eyes", request.Prompt, StringComparison.Ordinal);
        Assert.Contains("Neo Tokyo glitch art", request.Prompt, StringComparison.Ordinal);
        Assert.Equal("visor", request.Parameters["style"]);
        Assert.Equal(job.Id, request.JobId);

        // Deterministic per job: the same job renders the same request on any host.
        Assert.Equal(request.Seed, generator.CreateProviderRequest(job, null).Seed);
        Assert.Equal(request.Prompt, generator.CreateProviderRequest(job, null).Prompt);
    }

    [Fact]
    public void AddNeoGlitch_twice_registers_once()
    {
        var services = Services(b => b.AddNeoGlitch().AddNeoGlitch());
        Assert.Equal(1, GeneratorRegistrations(services, Type));
    }
}
