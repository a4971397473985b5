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

    /// <summary>Keeps Retro Poster's jobs in its own store (<see cref="RetroPosterStore"/>: one JSON document per job in
    /// <paramref name="directory"/>, one process), beside the host's default store, which the other types keep using.
    /// Submits, status, cancel, the worker and the unified feed of <c>retro-poster</c> go to this store.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="directory">The store's directory; created when missing.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseRetroPosterStore(this IStefnaBuilder builder, string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        return builder.UseRetroPosterStore(o => o.Directory = directory);
    }

    /// <summary>Keeps Retro Poster's jobs in its own store, configured from <c>Stefna:Types:retro-poster:Store</c> (when
    /// the host binds configuration) and then <paramref name="configure"/>; the options are validated when the host starts.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="configure">Configures <see cref="RetroPosterStoreOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseRetroPosterStore(this IStefnaBuilder builder, Action<RetroPosterStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RetroPosterStoreOptions>, RetroPosterStoreOptionsValidator>());

        // The SDK's seam for a store of one type: named options bound and validated, the store made on first use (with
        // the host's clock) and disposed with the host.
        return builder.UseMediaStore<RetroPosterStoreOptions>(
            RetroPosterGenerator.TypeName,
            "Store",
            configure,
            (sp, options) => new RetroPosterStore(options.Directory!, sp.GetService<TimeProvider>()));
    }
}
