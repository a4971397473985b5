using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Stefna.Generators.CustomPrompt;
using Stefna.Generators.Presets;

namespace Stefna.Sdk.Testing.Tests;

/// <summary>Requests shared by the five suites below.</summary>
internal static class Requests
{
    public const string User = "conformance-user";

    public static GenerationRequest For(string type, string? prompt = null, string? preset = null, (string Key, string Value)? option = null, bool withImage = true) => new()
    {
        Type = type,
        UserId = User,
        Prompt = prompt,
        Preset = preset,
        Image = withImage ? ImageInput.FromBytes(SampleImages.Png(seed: 5)) : null,
        Options = option is { } o
            ? new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { [o.Key] = o.Value }
            : new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase),
    };
}

// The three choice types are data: their valid and invalid requests come from their definitions.
public sealed class NeoGlitchConformanceTests : ChoiceGeneratorConformanceTests
{
    protected override void AddGenerationType(IStefnaBuilder stefna) => stefna.AddNeoGlitch();
}

public sealed class EmotionMaskConformanceTests : ChoiceGeneratorConformanceTests
{
    protected override void AddGenerationType(IStefnaBuilder stefna) => stefna.AddEmotionMask();
}

public sealed class PresetsConformanceTests : GeneratorConformanceTests
{
    private const string Type = PresetsGenerator.TypeName;

    // One fixed week for the suite and the generator: with the real clock, a run crossing the weekly rotation would see the
    // generator judge requests by another week than the one they were made for.
    private static readonly TimeProvider FixedWeek = new FixedClock(new DateTimeOffset(2026, 6, 3, 12, 0, 0, TimeSpan.Zero));

    // That week's rotation, computed the way the generator computes it.
    private static readonly PresetWeek Week = new PresetRotation(Options.Create(new PresetsOptions()), FixedWeek).GetWeek();

    protected override void AddGenerationType(IStefnaBuilder stefna) => stefna.AddPresets();

    protected override void ConfigureServices(IServiceCollection services) =>
        services.AddSingleton<IPresetRotation>(sp => new PresetRotation(sp.GetRequiredService<IOptions<PresetsOptions>>(), FixedWeek));

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    protected override GenerationRequest CreateValidRequest() => Requests.For(Type, preset: Week.Active[0].Key);

    protected override IEnumerable<InvalidRequestCase> CreateInvalidRequests() =>
    [
        new("unknown preset", Requests.For(Type, preset: "sepia_dream"), "preset", "unknown_preset"),
        new("no preset", Requests.For(Type), "preset", "preset_required"),
        new("preset not active this week", Requests.For(Type, preset: PresetCatalog.Keys.First(k => Week.Active.All(a => a.Key != k))), "preset", "preset_inactive"),
    ];
}

public sealed class GhibliReactionConformanceTests : ChoiceGeneratorConformanceTests
{
    protected override void AddGenerationType(IStefnaBuilder stefna) => stefna.AddGhibliReaction();
}

public sealed class CustomPromptConformanceTests : GeneratorConformanceTests
{
    private const string Type = CustomPromptGenerator.TypeName;

    protected override void AddGenerationType(IStefnaBuilder stefna) => stefna.AddCustomPrompt();

    // Text-to-image: the type needs no source image.
    protected override GenerationRequest CreateValidRequest() => Requests.For(Type, prompt: "a lighthouse on a cliff at dusk", withImage: false);

    protected override IEnumerable<InvalidRequestCase> CreateInvalidRequests() =>
    [
        new("no prompt", Requests.For(Type, withImage: false), "prompt", "prompt_required"),
        new("prompt too long", Requests.For(Type, prompt: new string('a', 5000), withImage: false), "prompt", "prompt_too_long"),
        new("control character in prompt", Requests.For(Type, prompt: "a cat\u0007", withImage: false), "prompt", "prompt_control_character"),
    ];
}
