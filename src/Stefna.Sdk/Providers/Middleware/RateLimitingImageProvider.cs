using System.Threading.RateLimiting;

namespace Stefna.Sdk.Providers.Middleware;

/// <summary>
/// Holds each provider call (submit and poll) until a <see cref="RateLimiter"/> grants a permit, so a type never sends
/// a hosted provider more requests than its plan allows. A call the limiter refuses (its queue is full) fails with
/// <see cref="ProviderRetryAfterException"/>, which the type's resilience pipeline waits out before retrying. The wait
/// for a permit counts against the type's attempt timeout.
/// </summary>
public sealed class RateLimitingImageProvider : DelegatingImageProvider
{
    private readonly RateLimiter _limiter;
    private readonly TimeSpan _defaultRetryAfter;

    /// <summary>Wraps a provider.</summary>
    /// <param name="innerProvider">The provider.</param>
    /// <param name="limiter">The limiter (one permit per call). Not disposed by this class.</param>
    /// <param name="defaultRetryAfter">The wait suggested on a refusal when the limiter gives none. Default 1 s.</param>
    public RateLimitingImageProvider(IImageProvider innerProvider, RateLimiter limiter, TimeSpan? defaultRetryAfter = null)
        : base(innerProvider)
    {
        ArgumentNullException.ThrowIfNull(limiter);
        _limiter = limiter;
        _defaultRetryAfter = defaultRetryAfter ?? TimeSpan.FromSeconds(1);
    }

    /// <inheritdoc />
    public override async ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        using var lease = await AcquireAsync(cancellationToken).ConfigureAwait(false);
        return await base.SubmitAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken)
    {
        using var lease = await AcquireAsync(cancellationToken).ConfigureAwait(false);
        return await base.PollAsync(providerJobId, request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A limiter created for this layer alone (by <c>UseRequestsPerMinute</c>), released with it.</summary>
    internal IDisposable? OwnedLimiter { get; init; }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            OwnedLimiter?.Dispose();
        }

        base.Dispose(disposing);
    }

    private async ValueTask<RateLimitLease> AcquireAsync(CancellationToken cancellationToken)
    {
        var lease = await _limiter.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        if (lease.IsAcquired)
        {
            return lease;
        }

        var wait = lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : _defaultRetryAfter;
        lease.Dispose();
        throw new ProviderRetryAfterException(wait, $"Provider {Name} is at its configured request rate and too many calls are already waiting; retry after {wait.TotalSeconds:0.#} s.");
    }
}

