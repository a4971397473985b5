using Stefna.Generators.GhibliReaction;
using Stefna.Sdk.Configuration;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Ghibli Reaction generation type.</summary>
public static class GhibliReactionBuilderExtensions
{
    /// <summary>Adds Ghibli Reaction (<c>ghibli-reaction</c>, table <c>ghibli_reaction_media</c>). Safe to call more than once.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder AddGhibliReaction(this IStefnaBuilder builder) => builder.AddGhibliReaction(configure: null);

    /// <summary>Adds Ghibli Reaction and configures its concurrency, timeouts and resilience.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="configure">Configures the type's options.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder AddGhibliReaction(this IStefnaBuilder builder, Action<GenerationTypeOptions>? configure) =>
        builder.AddGenerator<GhibliReactionGenerator>(GhibliReactionGenerator.TypeName, configure);
}
