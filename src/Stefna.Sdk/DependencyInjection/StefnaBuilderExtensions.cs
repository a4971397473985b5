using Microsoft.Extensions.Options;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Stefna.Sdk;
using Stefna.Sdk.Assets;
using Stefna.Sdk.Internal;
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

    /// <summary>Gives one generation type a store of its own (its dedicated store), beside the host's default store
    /// (<see cref="UseMediaStore(IStefnaBuilder, Func{IServiceProvider, IMediaStore})"/>); replaces any store chosen
    /// for that type before. Submits, reads, cancels, claims and the worker of the type all go to this store; the
    /// unified feed merges it with the other stores' pages. A plug-in package may call this from its <c>AddXxx()</c>
    /// to ship its own store; store packages call it from <c>UseSqlite(type, …)</c>/<c>UsePostgres(type, …)</c>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="type">The type's canonical name (checked against the registered types when the host starts).</param>
    /// <param name="factory">Creates the store. When the store implements <see cref="IJobNotificationSource"/>, the
    /// type's producer wakes on it (its wake-up source comes with it); otherwise it polls.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseMediaStore(this IStefnaBuilder builder, string type, Func<IServiceProvider, IMediaStore> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(type);
        ArgumentNullException.ThrowIfNull(factory);
        var registration = new TypeStoreRegistration(type);
        builder.Services.RemoveAllKeyed<IMediaStore>(registration.Key);
        builder.Services.AddKeyedSingleton(registration.Key, (sp, _) => factory(sp));
        builder.Services.AddSingleton(registration);
        return builder;
    }

    /// <summary>Gives one generation type a store of its own built from named options: <typeparamref name="TOptions"/>
    /// named after the type, bound from <c>Stefna:Types:&lt;type&gt;:&lt;configurationKey&gt;</c> when the host binds
    /// configuration, then <paramref name="configure"/>, validated when the host starts (by the store package's
    /// <c>IValidateOptions</c>). Store packages build their <c>UseXxx(type, …)</c> on it.</summary>
    /// <typeparam name="TOptions">The store's options.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="type">The type's canonical name.</param>
    /// <param name="configurationKey">The store's key under the type's configuration section, e.g. <c>Sqlite</c>.</param>
    /// <param name="configure">Configures the options.</param>
    /// <param name="factory">Creates the store from the type's options.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseMediaStore<TOptions>(this IStefnaBuilder builder, string type, string configurationKey, Action<TOptions> configure, Func<IServiceProvider, TOptions, IMediaStore> factory)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(type);
        ArgumentException.ThrowIfNullOrWhiteSpace(configurationKey);
        ArgumentNullException.ThrowIfNull(configure);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.AddOptions<TOptions>(type).BindStefnaConfiguration(ConfigurationPath.Combine("Types", type, configurationKey)).Configure(configure).ValidateOnStart();
        return builder.UseMediaStore(type, sp => factory(sp, sp.GetRequiredService<IOptionsMonitor<TOptions>>().Get(type)));
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
            sp.GetService<TimeProvider>(),
            sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
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
