using Stefna.Generators.NeoGlitch;
using Stefna.Sdk.Configuration;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Neo Tokyo Glitch generation type.</summary>
public static class NeoGlitchBuilderExtensions
{
    /// <summary>Adds Neo Tokyo Glitch (<c>neo-glitch</c>, table <c>neo_glitch_media</c>). Safe to call more than once.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="configure">Configures the type's concurrency, timeouts and resilience.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder AddNeoGlitch(this IStefnaBuilder builder, Action<GenerationTypeOptions>? configure = null) =>
        builder.AddGenerator<NeoGlitchGenerator>(configure);
}
