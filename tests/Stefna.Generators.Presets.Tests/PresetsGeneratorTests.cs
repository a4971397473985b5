using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Stefna.Sdk.Generators;
using static Stefna.TestUtils.GeneratorTestKit;

namespace Stefna.Generators.Presets.Tests;

public class PresetsGeneratorTests
{
    private const string Type = PresetsGenerator.TypeName;

    // A Wednesday in ISO week 2026-W53.
    private static readonly DateTimeOffset Now = new(2026, 12, 30, 15, 0, 0, TimeSpan.Zero);

    private static (IGenerator Generator, IPresetRotation Rotation, FakeTimeProvider Time) Create(Action<PresetsOptions>? configure = null)
    {
        var time = new FakeTimeProvider(Now);
        var services = Build(b => b.AddPresets(configure, configure: null), s => s.AddSingleton<TimeProvider>(time));
        return (Generator(services, Type), services.GetRequiredService<IPresetRotation>(), time);
    }

    [Fact]
    public async Task An_active_preset_is_accepted_and_stored_as_the_preset()
    {
        var (sut, rotation, _) = Create();
        var active = rotation.GetActivePresets()[2];

        var spec = await sut.PrepareAsync(Request(Type, preset: active.Key.ToUpperInvariant(), prompt: "a chef"), CancellationToken.None);

        Assert.Equal(active.Key, spec.Preset);
        Assert.Equal("a chef", spec.Prompt);
        Assert.Equal(["presets", "professional", active.Key], spec.Tags);
        Assert.Equal("2026-W53", spec.Meta["rotation_week"]);
    }

    [Fact]
    public async Task An_inactive_preset_is_refused_with_the_active_ones_named()
    {
        var (sut, rotation, _) = Create();
        var active = rotation.GetActivePresets();
        var inactive = PresetCatalog.All.First(p => !active.Contains(p));

        var error = await RefusedAsync(sut, Request(Type, preset: inactive.Key));

        Assert.Equal("preset", error.Field);
        Assert.Equal("invalid_request.preset_inactive", error.Code);
        Assert.Contains($"'{inactive.Key}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("2026-W53", error.Message, StringComparison.Ordinal);
        Assert.Contains("2027-01-04", error.Message, StringComparison.Ordinal);
        Assert.All(active, p => Assert.Contains(p.Key, error.Message, StringComparison.Ordinal));
        Assert.All(PresetCatalog.All.Except(active).Where(p => p != inactive), p => Assert.DoesNotContain(p.Key, error.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_inactive_preset_is_allowed_when_the_option_says_so()
    {
        var (sut, rotation, _) = Create(o => o.AllowInactivePresets = true);
        var inactive = PresetCatalog.All.First(p => !rotation.GetActivePresets().Contains(p));

        var spec = await sut.PrepareAsync(Request(Type, preset: inactive.Key), CancellationToken.None);

        Assert.Equal(inactive.Key, spec.Preset);
    }

    [Fact]
    public async Task Validation_follows_the_clock_into_the_next_week()
    {
        var (sut, rotation, time) = Create();
        var nextWeek = rotation.GetActivePresets(rotation.GetNextRotation());
        var candidate = nextWeek.First(p => !rotation.GetActivePresets().Contains(p));

        await RefusedAsync(sut, Request(Type, preset: candidate.Key));
        time.Advance(rotation.GetNextRotation() - time.GetUtcNow());
        var spec = await sut.PrepareAsync(Request(Type, preset: candidate.Key), CancellationToken.None);

        Assert.Equal(candidate.Key, spec.Preset);
        Assert.Equal("2027-W01", spec.Meta["rotation_week"]);
    }

    [Fact]
    public async Task Unknown_and_missing_presets_are_refused_naming_the_catalogue()
    {
        var (sut, _, _) = Create();

        var unknown = await RefusedAsync(sut, Request(Type, preset: "sepia_dream"));
        var missing = await RefusedAsync(sut, Request(Type));

        Assert.Equal("invalid_request.unknown_preset", unknown.Code);
        Assert.Equal("invalid_request.preset_required", missing.Code);
        Assert.All(PresetCatalog.Keys, k => Assert.Contains(k, unknown.Message, StringComparison.Ordinal));
        Assert.All(PresetCatalog.Keys, k => Assert.Contains(k, missing.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Provider_request_uses_the_presets_template_and_model_parameters()
    {
        var (sut, _, _) = Create(o => o.AllowInactivePresets = true);
        foreach (var preset in PresetCatalog.All)
        {
            var spec = await sut.PrepareAsync(Request(Type, preset: preset.Key, prompt: "my dog"), CancellationToken.None);
            var request = sut.CreateProviderRequest(Job(Type, spec), SourceImage());

            Assert.Equal(preset.PromptTemplate.Replace("{prompt}", "my dog", StringComparison.Ordinal), request.Prompt);
            Assert.Equal(preset.Model, request.Model);
            Assert.Equal(preset.Strength, request.Strength);
            Assert.Equal(preset.ImageSize, request.ImageSize);
            Assert.Equal(preset.Key, request.Parameters["preset"]);
        }
    }

    [Fact]
    public void A_job_whose_preset_left_the_catalogue_fails_as_an_invalid_request()
    {
        var (sut, _, _) = Create();
        var job = Job(Type, new GenerationSpec { Preset = "retired_preset" });

        var error = Assert.Throws<Sdk.GenerationValidationException>(() => sut.CreateProviderRequest(job, null));
        Assert.Equal("invalid_request.unknown_preset", error.Code);
    }

    [Fact]
    public void Adding_twice_registers_once_and_resolves_as_keyed_generator_and_rotation_service()
    {
        var services = Services(b => b.AddPresets().AddPresets(o => o.ActiveCount = 4, configure: null));

        Assert.Equal(1, GeneratorRegistrations(services, Type));
        Assert.Equal(1, services.Count(d => d.ServiceType == typeof(IPresetRotation)));
        using var provider = services.BuildServiceProvider();
        Assert.IsType<PresetsGenerator>(provider.GetRequiredKeyedService<IGenerator>(Type));
        Assert.Equal(4, provider.GetRequiredService<IPresetRotation>().ActiveCount);
    }
}
