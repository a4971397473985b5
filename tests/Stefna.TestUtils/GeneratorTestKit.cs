using Microsoft.Extensions.DependencyInjection;
using Stefna.Sdk;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Imaging;
using Stefna.Sdk.Legacy;
using Stefna.Sdk.Providers;
using Xunit;

namespace Stefna.TestUtils;

/// <summary>Helpers for testing generation-type plug-ins: a container with a plug-in registered, requests, and jobs
/// built from a prepared spec the way the pipeline stores them.</summary>
public static class GeneratorTestKit
{
    /// <summary>The services after <c>AddStefna()</c> and the given plug-in registrations.</summary>
    public static IServiceCollection Services(Action<IStefnaBuilder> configure, Action<IServiceCollection>? more = null)
    {
        var services = new ServiceCollection();
        configure(services.AddStefna());
        more?.Invoke(services);
        return services;
    }

    /// <summary>A built container (options are validated when first resolved).</summary>
    public static ServiceProvider Build(Action<IStefnaBuilder> configure, Action<IServiceCollection>? more = null) =>
        Services(configure, more).BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true });

    /// <summary>The generator registered for a type, resolved as the core resolves it (keyed <see cref="IGenerator"/>).</summary>
    public static IGenerator Generator(IServiceProvider services, string type) => services.GetRequiredKeyedService<IGenerator>(type);

    /// <summary>How many keyed <see cref="IGenerator"/> registrations a type has.</summary>
    public static int GeneratorRegistrations(IServiceCollection services, string type) =>
        services.Count(d => d.ServiceType == typeof(IGenerator) && d.IsKeyedService && Equals(d.ServiceKey, type));

    /// <summary>A request with a small in-memory PNG (unless <paramref name="withImage"/> is false).</summary>
    public static GenerationRequest Request(string type, string? prompt = null, string? preset = null, IReadOnlyDictionary<string, string>? options = null, IReadOnlyList<string>? tags = null, bool withImage = true) => new()
    {
        Type = type,
        UserId = "user-1",
        Prompt = prompt,
        Preset = preset,
        Image = withImage ? ImageInput.FromBytes(TestImages.Png()) : null,
        Options = options is null
            ? new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
            : new Dictionary<string, string>(options, StringComparer.OrdinalIgnoreCase),
        Tags = tags ?? [],
    };

    /// <summary>A queued job holding what a spec says, as a store would return it to a worker.</summary>
    public static GenerationJob Job(string type, GenerationSpec spec, string? sourceImageUrl = "file:///images/source.png") => new()
    {
        Id = Guid.NewGuid(),
        Type = type,
        UserId = "user-1",
        Status = GenerationStatus.Processing,
        Prompt = spec.Prompt,
        Preset = spec.Preset,
        SourceImageUrl = sourceImageUrl,
        Tags = spec.Tags,
        Meta = spec.Meta,
        Columns = spec.Columns,
        Attempts = 1,
        CreatedAt = DateTimeOffset.UnixEpoch,
        UpdatedAt = DateTimeOffset.UnixEpoch,
    };

    /// <summary>A source image as the worker hands it to a generator.</summary>
    public static ImageContent SourceImage()
    {
        var bytes = TestImages.Png();
        return new ImageContent(bytes, ImageInspector.Inspect(bytes));
    }

    /// <summary>Prepares a request and expects a validation failure.</summary>
    public static async Task<GenerationValidationException> RefusedAsync(IGenerator generator, GenerationRequest request) =>
        await Assert.ThrowsAsync<GenerationValidationException>(async () => await generator.PrepareAsync(request, CancellationToken.None));

    /// <summary>Whether a legacy rule claims a <c>meta.generation_type</c>, <c>meta.mode</c> or <c>preset_key</c> value,
    /// using the rule's documented matching (case-insensitive, <c>_</c> and <c>-</c> alike for the first two).</summary>
    public static bool Claims(LegacyClassificationRule rule, string? generationType = null, string? mode = null, string? presetKey = null)
    {
        if (generationType is not null)
        {
            return rule.GenerationTypes.Any(t => LegacyClassificationRule.Normalize(t) == LegacyClassificationRule.Normalize(generationType));
        }

        if (mode is not null)
        {
            return rule.Modes.Any(m => LegacyClassificationRule.Normalize(m) == LegacyClassificationRule.Normalize(mode));
        }

        return presetKey is not null
            && (rule.PresetKeyPrefixes.Any(p => presetKey.StartsWith(p, StringComparison.OrdinalIgnoreCase))
                || rule.PresetKeys.Any(k => string.Equals(k, presetKey, StringComparison.OrdinalIgnoreCase)));
    }
}
