namespace Stefna.Sdk.Providers;

/// <summary>
/// A provider that passes every call to an inner provider: the base class of provider middleware (logging, caching,
/// rate limiting, your own), in the style of Microsoft.Extensions.AI's <c>DelegatingImageGenerator</c>. Override the
/// calls you need and call <c>base</c> to reach the inner provider. Added with <see cref="ImageProviderBuilder.Use(Func{IImageProvider, IImageProvider})"/>,
/// per type with <c>ConfigureProvider(type, p =&gt; p.Use(...))</c> on the Stefna builder.
/// </summary>
public abstract class DelegatingImageProvider : IImageProvider, IDisposable
{
    /// <summary>Wraps a provider.</summary>
    /// <param name="innerProvider">The provider calls go to.</param>
    protected DelegatingImageProvider(IImageProvider innerProvider)
    {
        ArgumentNullException.ThrowIfNull(innerProvider);
        InnerProvider = innerProvider;
    }

    /// <summary>The provider calls go to.</summary>
    protected IImageProvider InnerProvider { get; }

    /// <summary>The inner provider's name: middleware does not rename the provider in logs, metrics or job metadata.</summary>
    public virtual string Name => InnerProvider.Name;

    /// <inheritdoc />
    public virtual ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken) =>
        InnerProvider.SubmitAsync(request, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken) =>
        InnerProvider.PollAsync(providerJobId, request, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask CancelAsync(string providerJobId, CancellationToken cancellationToken) =>
        InnerProvider.CancelAsync(providerJobId, cancellationToken);

    /// <summary>Releases what this layer owns (a limiter's timer, say). Each layer releases only itself: the layers
    /// inside and the provider at the centre have owners of their own (the registry disposes every layer that
    /// <c>ConfigureProvider</c> built; the container disposes the providers it created).</summary>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what this layer owns; the base owns nothing.</summary>
    /// <param name="disposing"><see langword="true"/> when called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
    }
}
