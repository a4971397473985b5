using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Stefna.Sdk.Extensions.AI;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Uses a Microsoft.Extensions.AI <see cref="IImageGenerator"/> as a Stefna image provider.</summary>
public static class ImageGeneratorBuilderExtensions
{
    /// <summary>Uses the <see cref="IImageGenerator"/> registered in the container (<c>AddImageGenerator</c>, or
    /// <c>AddKeyedImageGenerator</c> with <paramref name="serviceKey"/>) for every type that has no provider of its own.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="serviceKey">The generator's service key; <see langword="null"/> for the unkeyed one.</param>
    /// <param name="configure">Configures the mapping.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseImageGenerator(this IStefnaBuilder builder, object? serviceKey = null, Action<ImageGeneratorProviderOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.UseImageGenerator(sp => Resolve(sp, serviceKey), configure);
    }

    /// <summary>Uses an <see cref="IImageGenerator"/> for every type that has no provider of its own, e.g.
    /// <c>new OpenAI.Images.ImageClient("gpt-image-1", key).AsIImageGenerator()</c>.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="factory">Creates the generator (once; the provider is a singleton).</param>
    /// <param name="configure">Configures the mapping.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseImageGenerator(this IStefnaBuilder builder, Func<IServiceProvider, IImageGenerator> factory, Action<ImageGeneratorProviderOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.TryAddSingleton(TimeProvider.System);
        return builder.UseProvider(sp => Create(sp, factory, configure));
    }

    /// <summary>Uses an <see cref="IImageGenerator"/> for one generation type only.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="type">The generation type's name.</param>
    /// <param name="factory">Creates the generator.</param>
    /// <param name="configure">Configures the mapping.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseImageGenerator(this IStefnaBuilder builder, string type, Func<IServiceProvider, IImageGenerator> factory, Action<ImageGeneratorProviderOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(type);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.TryAddSingleton(TimeProvider.System);
        return builder.UseProvider(type, sp => Create(sp, factory, configure));
    }

    /// <summary>Exposes a generation type as an <see cref="IImageGenerator"/> keyed by the type's name
    /// (<c>sp.GetRequiredKeyedService&lt;IImageGenerator&gt;("neo-glitch")</c>): each call submits a job, waits for it and
    /// answers its image. The opposite direction of <c>UseImageGenerator</c>.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="type">The generation type's name.</param>
    /// <param name="configure">Configures the default user and the wait.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder AddImageGenerator(this IStefnaBuilder builder, string type, Action<GenerationTypeImageGeneratorOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(type);
        var options = new GenerationTypeImageGeneratorOptions();
        configure?.Invoke(options);
        if (options.Timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(configure), "GenerationTypeImageGeneratorOptions.Timeout must be positive.");
        }

        builder.Services.AddKeyedSingleton<IImageGenerator>(type, (sp, _) => new GenerationTypeImageGenerator(
            sp.GetRequiredService<Stefna.Sdk.IGenerationPipeline>(),
            sp.GetRequiredService<Stefna.Sdk.Assets.IAssetStorage>(),
            type,
            options));
        return builder;
    }

    private static ImageGeneratorProvider Create(IServiceProvider services, Func<IServiceProvider, IImageGenerator> factory, Action<ImageGeneratorProviderOptions>? configure)
    {
        var options = new ImageGeneratorProviderOptions();
        configure?.Invoke(options);
        return new ImageGeneratorProvider(
            factory(services),
            options,
            services.GetRequiredService<TimeProvider>(),
            services.GetService<ILogger<ImageGeneratorProvider>>());
    }

    private static IImageGenerator Resolve(IServiceProvider services, object? serviceKey) =>
        serviceKey is null ? services.GetRequiredService<IImageGenerator>() : services.GetRequiredKeyedService<IImageGenerator>(serviceKey);
}
