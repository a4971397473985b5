namespace Stefna.Sdk.Providers;

/// <summary>
/// Builds a provider wrapped in middleware, in the style of Microsoft.Extensions.AI's <c>ImageGeneratorBuilder</c>:
/// <c>new ImageProviderBuilder(inner).UseLogging().UseRequestsPerMinute(60).Build(services)</c>. The first
/// <see cref="Use(Func{IImageProvider, IImageProvider})"/> is the outermost layer, so a call meets the middleware in
/// the order it was added. Per type on the Stefna builder: <c>ConfigureProvider("neo-glitch", p =&gt; p.UseLogging())</c>.
/// </summary>
public sealed class ImageProviderBuilder
{
    private readonly Func<IServiceProvider, IImageProvider> _inner;
    private readonly List<Func<IImageProvider, IServiceProvider, IImageProvider>> _middleware = [];

    /// <summary>Starts from a provider.</summary>
    /// <param name="innerProvider">The provider at the centre.</param>
    public ImageProviderBuilder(IImageProvider innerProvider)
    {
        ArgumentNullException.ThrowIfNull(innerProvider);
        _inner = _ => innerProvider;
    }

    /// <summary>Starts from a provider created from the container at <see cref="Build"/>.</summary>
    /// <param name="innerProviderFactory">Creates the provider at the centre.</param>
    public ImageProviderBuilder(Func<IServiceProvider, IImageProvider> innerProviderFactory)
    {
        ArgumentNullException.ThrowIfNull(innerProviderFactory);
        _inner = innerProviderFactory;
    }

    /// <summary>Adds a layer.</summary>
    /// <param name="middleware">Wraps the provider built so far (typically in a <see cref="DelegatingImageProvider"/>).</param>
    /// <returns>The builder.</returns>
    public ImageProviderBuilder Use(Func<IImageProvider, IImageProvider> middleware)
    {
        ArgumentNullException.ThrowIfNull(middleware);
        return Use((inner, _) => middleware(inner));
    }

    /// <summary>Adds a layer that needs services (a logger factory, a cache, a clock).</summary>
    /// <param name="middleware">Wraps the provider built so far.</param>
    /// <returns>The builder.</returns>
    public ImageProviderBuilder Use(Func<IImageProvider, IServiceProvider, IImageProvider> middleware)
    {
        ArgumentNullException.ThrowIfNull(middleware);
        _middleware.Add(middleware);
        return this;
    }

    /// <summary>Builds the provider: the inner one wrapped in every layer, the first added outermost.</summary>
    /// <param name="services">Services for the layers; an empty provider when <see langword="null"/>.</param>
    /// <returns>The wrapped provider.</returns>
    public IImageProvider Build(IServiceProvider? services = null)
    {
        services ??= EmptyServices.Instance;
        var provider = _inner(services);
        var layers = new List<IImageProvider>();
        for (var i = _middleware.Count - 1; i >= 0; i--)
        {
            var inner = provider;
            provider = _middleware[i](provider, services) ?? throw new InvalidOperationException($"Provider middleware {i} returned null.");
            if (!ReferenceEquals(provider, inner))
            {
                layers.Add(provider);
            }
        }

        BuiltLayers = layers;
        return provider;
    }

    /// <summary>The layers the last <see cref="Build"/> created, innermost first: whoever built them disposes them.</summary>
    internal IReadOnlyList<IImageProvider> BuiltLayers { get; private set; } = [];

    private sealed class EmptyServices : IServiceProvider
    {
        public static readonly EmptyServices Instance = new();

        public object? GetService(Type serviceType) => null;
    }
}
