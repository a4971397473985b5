using Microsoft.Extensions.DependencyInjection.Extensions;
using Stefna.Sdk;
using Stefna.Sdk.Assets;
using Stefna.Sdk.Providers;
using Stefna.Sdk.Storage;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Chooses the store, asset storage and image providers on the Stefna builder.</summary>
public static class StefnaBuilderExtensions
{
    /// <summary>Stores images as files under a folder (the embedded default).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="rootPath">The folder.</param>
    /// <param name="publicBaseUrl">A base URL under which a web host serves the folder; <c>file://</c> URLs when unset.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseLocalFileStorage(this IStefnaBuilder builder, string rootPath, string? publicBaseUrl = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(rootPath);
        return builder.UseLocalFileStorage(o =>
        {
            o.RootPath = rootPath;
            o.PublicBaseUrl = publicBaseUrl;
        });
    }

    /// <summary>Stores images as files under the folder configured at <c>Stefna:LocalFiles</c> (<c>RootPath</c>,
    /// <c>PublicBaseUrl</c>) when the host binds configuration; validated at start-up.</summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseLocalFileStorage(this IStefnaBuilder builder) => builder.UseLocalFileStorage(_ => { });

    /// <summary>Stores images as files under a folder configured in code (after <c>Stefna:LocalFiles</c>, when the host
    /// binds configuration); validated at start-up.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures the options after configuration is bound.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseLocalFileStorage(this IStefnaBuilder builder, Action<LocalFileAssetStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<LocalFileAssetStorageOptions>()
            .BindStefnaConfiguration(LocalFileAssetStorageOptions.ConfigurationKey)
            .Configure(configure)
            .ValidateOnStart();

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Options.IValidateOptions<LocalFileAssetStorageOptions>, LocalFileAssetStorageOptionsValidator>());
        builder.Services.TryAddSingleton<LocalFileAssetStorage>();
        return builder.UseAssetStorage(sp => sp.GetRequiredService<LocalFileAssetStorage>());
    }

    /// <summary>Uses an asset storage; replaces any chosen before.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">Creates the storage.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseAssetStorage(this IStefnaBuilder builder, Func<IServiceProvider, IAssetStorage> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.RemoveAll<IAssetStorage>();
        builder.Services.AddSingleton(factory);
        return builder;
    }

    /// <summary>Uses a media store; replaces any chosen before. Store packages call this from <c>UseSqlite</c>/<c>UsePostgres</c>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">Creates the store.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseMediaStore(this IStefnaBuilder builder, Func<IServiceProvider, IMediaStore> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        // Selecting a store is one call: the wake-up source of a store chosen before goes with that store (a store
        // package that has one registers it right after this call).
        builder.Services.RemoveAll<IMediaStore>();
        builder.Services.RemoveAll<IJobNotificationSource>();
        builder.Services.AddSingleton(factory);
        return builder;
    }

    /// <summary>Adds an in-process observer of the status changes of the jobs this host submits, runs and cancels (a
    /// singleton; adding the same class twice adds it once).</summary>
    /// <typeparam name="TObserver">The observer.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder AddObserver<TObserver>(this IStefnaBuilder builder)
        where TObserver : class, IGenerationObserver
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<TObserver>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IGenerationObserver, TObserver>(sp => sp.GetRequiredService<TObserver>()));
        return builder;
    }

    /// <summary>Uses an image provider for every type that has no provider of its own; replaces any default chosen before.</summary>
    /// <typeparam name="TProvider">The provider.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseProvider<TProvider>(this IStefnaBuilder builder)
        where TProvider : class, IImageProvider
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<TProvider>();
        return builder.UseProvider(sp => sp.GetRequiredService<TProvider>());
    }

    /// <summary>Uses an image provider for every type that has no provider of its own; replaces any default chosen before.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">Creates the provider.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseProvider(this IStefnaBuilder builder, Func<IServiceProvider, IImageProvider> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.RemoveAll<IImageProvider>();
        builder.Services.AddSingleton(factory);
        return builder;
    }

    /// <summary>Uses an image provider for one type only.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="type">The type's name.</param>
    /// <param name="factory">Creates the provider.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseProvider(this IStefnaBuilder builder, string type, Func<IServiceProvider, IImageProvider> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(type);
        var existing = builder.Services.Where(d => d.ServiceType == typeof(IImageProvider) && Equals(d.ServiceKey, type)).ToList();
        foreach (var descriptor in existing)
        {
            builder.Services.Remove(descriptor);
        }

        builder.Services.AddKeyedSingleton(type, (sp, _) => factory(sp));
        return builder;
    }

    /// <summary>Gives one type an ordered list of providers (<see cref="FallbackImageProvider"/>): a job goes to the first
    /// whose circuit is closed, and to the next when that one is unavailable or its circuit is open. The job's meta
    /// names the provider (and model) that produced its image.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="type">The type's name.</param>
    /// <param name="providers">Create the providers, in order of preference (their names must differ).</param>
    /// <param name="configure">Configures the members' circuit breakers.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseProviders(this IStefnaBuilder builder, string type, IEnumerable<Func<IServiceProvider, IImageProvider>> providers, Action<FallbackProviderOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(providers);
        var factories = providers.ToList();
        var options = new FallbackProviderOptions();
        configure?.Invoke(options);
        return builder.UseProvider(type, sp => new FallbackImageProvider(
            [.. factories.Select(f => f(sp))],
            options,
            sp.GetService<TimeProvider>()));
    }

    /// <summary>Wraps one type's provider (its own, or the default) in middleware, in the style of
    /// Microsoft.Extensions.AI's builder: <c>ConfigureProvider("neo-glitch", p =&gt; p.UseLogging().UseRequestsPerMinute(60))</c>.
    /// The type gets its own instances of the middleware (its own limiter, its own logs); calling this again adds more
    /// layers inside the earlier ones.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="type">The type's name.</param>
    /// <param name="configure">Adds the layers (the first added is the outermost).</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder ConfigureProvider(this IStefnaBuilder builder, string type, Action<ImageProviderBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(type);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddSingleton(new Stefna.Sdk.Internal.ProviderMiddlewareRegistration(type, configure));
        return builder;
    }
}
