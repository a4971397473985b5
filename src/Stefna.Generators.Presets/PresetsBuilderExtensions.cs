using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Stefna.Generators.Presets;
using Stefna.Sdk.Configuration;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Professional Presets generation type and its weekly rotation.</summary>
public static class PresetsBuilderExtensions
{
    /// <summary>Adds Professional Presets (<c>presets</c>, table <c>presets_media</c>) and <see cref="IPresetRotation"/>. Safe to call more than once.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder AddPresets(this IStefnaBuilder builder) => builder.AddPresets(configure: null);

    /// <summary>Adds Professional Presets and configures its concurrency, timeouts and resilience.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="configure">Configures the type's options.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder AddPresets(this IStefnaBuilder builder, Action<GenerationTypeOptions>? configure) =>
        builder.AddPresets(configurePresets: null, configure);

    /// <summary>Adds Professional Presets and configures its rotation as well as its concurrency, timeouts and resilience.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="configurePresets">Configures <see cref="PresetsOptions"/> (active count, inactive presets, rotation keys).</param>
    /// <param name="configure">Configures the type's options.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder AddPresets(this IStefnaBuilder builder, Action<PresetsOptions>? configurePresets, Action<GenerationTypeOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<PresetsOptions>();
        if (configurePresets is not null)
        {
            options.Configure(configurePresets);
        }

        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PresetsOptions>, PresetsOptionsValidator>());
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<IPresetRotation, PresetRotation>();
        return builder.AddGenerator<PresetsGenerator>(configure);
    }
}
