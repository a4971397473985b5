using Stefna.Generators.GhibliReaction;
using Stefna.Sdk.Configuration;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Ghibli Reaction generation type.</summary>
public static class GhibliReactionBuilderExtensions
{
    /// <summary>Adds Ghibli Reaction (<c>ghibli-reaction</c>, table <c>ghibli_reaction_media</c>). Safe to call more than once.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="configure">Configures the type's concurrency, timeouts and resilience.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder AddGhibliReaction(this IStefnaBuilder builder, Action<GenerationTypeOptions>? configure = null) =>
        builder.AddGenerator<GhibliReactionGenerator>(configure);
}
