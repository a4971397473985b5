using System.Threading.RateLimiting;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Stefna.Sdk.Providers.Middleware;

namespace Stefna.Sdk.Providers;

/// <summary>The built-in provider middleware: logging, caching and rate limiting.</summary>
public static class ImageProviderBuilderExtensions
{
    /// <summary>Logs each provider call (<see cref="LoggingImageProvider"/>).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="loggerFactory">The logger factory; the container's when <see langword="null"/>.</param>
    /// <returns>The builder.</returns>
    public static ImageProviderBuilder UseLogging(this ImageProviderBuilder builder, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use((inner, services) =>
        {
            var factory = loggerFactory ?? services.GetService<ILoggerFactory>();
            return factory is null
                ? inner
                : new LoggingImageProvider(inner, factory.CreateLogger(typeof(LoggingImageProvider).FullName!), services.GetService<TimeProvider>());
        });
    }

    /// <summary>Answers repeated requests from a distributed cache (<see cref="CachingImageProvider"/>).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="cache">The cache; the container's <see cref="IDistributedCache"/> when <see langword="null"/>.</param>
    /// <param name="entryOptions">How long entries live; default one day.</param>
    /// <returns>The builder.</returns>
    public static ImageProviderBuilder UseDistributedCache(this ImageProviderBuilder builder, IDistributedCache? cache = null, DistributedCacheEntryOptions? entryOptions = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use((inner, services) => new CachingImageProvider(
            inner,
            cache ?? services.GetService<IDistributedCache>() ?? throw new InvalidOperationException("UseDistributedCache() needs an IDistributedCache: register one (e.g. AddDistributedMemoryCache()) or pass it."),
            entryOptions));
    }

    /// <summary>Holds each provider call until the limiter grants a permit (<see cref="RateLimitingImageProvider"/>).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="limiter">The limiter; shared by everything built with it.</param>
    /// <returns>The builder.</returns>
    public static ImageProviderBuilder UseRateLimiter(this ImageProviderBuilder builder, RateLimiter limiter)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(limiter);
        return builder.Use(inner => new RateLimitingImageProvider(inner, limiter));
    }

    /// <summary>Caps provider calls at a number per minute (<see cref="RequestsPerMinuteLimiter"/>),
    /// as hosted providers cap them: at most that many calls in any 60 seconds. Calls over the cap wait for a permit, up to <paramref name="queueLimit"/> of them;
    /// more fail with <see cref="ProviderRetryAfterException"/>. The clock is the container's <see cref="TimeProvider"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="requestsPerMinute">Calls per minute (at least 1).</param>
    /// <param name="queueLimit">How many calls may wait; default <paramref name="requestsPerMinute"/> (a minute's worth).</param>
    /// <returns>The builder.</returns>
    public static ImageProviderBuilder UseRequestsPerMinute(this ImageProviderBuilder builder, int requestsPerMinute, int? queueLimit = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentOutOfRangeException.ThrowIfLessThan(requestsPerMinute, 1);
        return builder.Use((inner, services) =>
        {
            var limiter = new RequestsPerMinuteLimiter(requestsPerMinute, queueLimit ?? requestsPerMinute, services.GetService<TimeProvider>() ?? TimeProvider.System);
            return new RateLimitingImageProvider(inner, limiter) { OwnedLimiter = limiter };
        });
    }
}
