using Contoso.RetroPoster;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Retro Poster generation type on the Stefna builder.</summary>
public static class RetroPosterBuilderExtensions
{
    /// <summary>Adds Retro Poster (<c>retro-poster</c>, table <c>retro_poster_media</c>). Safe to call more than once.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder AddRetroPoster(this IStefnaBuilder builder) => builder.AddRetroPoster(configure: null);

    /// <summary>Adds Retro Poster and configures its own options.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="configure">Configures <see cref="RetroPosterOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder AddRetroPoster(this IStefnaBuilder builder, Action<RetroPosterOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<RetroPosterOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RetroPosterOptions>, RetroPosterOptionsValidator>());

        // Everything shared (keyed generator, named GenerationTypeOptions, its own Polly pipeline) comes from the core.
        return builder.AddGenerator<RetroPosterGenerator>();
    }
}
