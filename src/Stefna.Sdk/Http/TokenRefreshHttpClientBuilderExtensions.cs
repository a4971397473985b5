using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Http;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds a <see cref="TokenRefreshHandler"/> to an HTTP client.</summary>
public static class TokenRefreshHttpClientBuilderExtensions
{
    /// <summary>Authorizes the client's requests with tokens from <typeparamref name="TSource"/> (registered as a
    /// singleton if absent), cached per client and refreshed once on a 401.</summary>
    /// <typeparam name="TSource">The token source.</typeparam>
    /// <param name="builder">The HTTP client builder.</param>
    /// <param name="configure">Configures the handler's options (skew, scheme).</param>
    /// <returns>The builder.</returns>
    public static IHttpClientBuilder AddTokenRefresh<TSource>(this IHttpClientBuilder builder, Action<TokenRefreshOptions>? configure = null)
        where TSource : class, IAccessTokenSource
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<TSource>();
        return builder.AddTokenRefresh(sp => sp.GetRequiredService<TSource>(), configure);
    }

    /// <summary>Authorizes the client's requests with tokens from a source made by <paramref name="sourceFactory"/>,
    /// cached per client (the cache outlives recycled handlers) and refreshed once on a 401.</summary>
    /// <remarks>The client's default <c>IHttpClientFactory</c> loggers are removed: their trace entries redact the
    /// <c>Authorization</c> header only in the formatted text, while the entry's structured values (what OpenTelemetry
    /// or Serilog sinks record) carry the raw token. The handler logs refreshes itself, without headers. Loggers added
    /// to the builder after this call are kept.</remarks>
    /// <param name="builder">The HTTP client builder.</param>
    /// <param name="sourceFactory">Creates the client's token source (called once).</param>
    /// <param name="configure">Configures the handler's options (skew, scheme).</param>
    /// <returns>The builder.</returns>
    public static IHttpClientBuilder AddTokenRefresh(this IHttpClientBuilder builder, Func<IServiceProvider, IAccessTokenSource> sourceFactory, Action<TokenRefreshOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(sourceFactory);
        var name = builder.Name;
        var services = builder.Services;
        builder.RedactLoggedHeaders(["Authorization"]).RemoveAllLoggers();
        var options = services.AddOptions<TokenRefreshOptions>(name).ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TokenRefreshOptions>, TokenRefreshOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddKeyedSingleton(CacheKey(name), (sp, _) => new AccessTokenCache(
            sourceFactory(sp),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptionsMonitor<TokenRefreshOptions>>().Get(name).ExpirySkew));
        return builder.AddHttpMessageHandler(sp => new TokenRefreshHandler(
            sp.GetRequiredKeyedService<AccessTokenCache>(CacheKey(name)),
            sp.GetRequiredService<IOptionsMonitor<TokenRefreshOptions>>().Get(name).Scheme,
            sp.GetService<ILogger<TokenRefreshHandler>>()));
    }

    /// <summary>The service key of a client's <see cref="AccessTokenCache"/> (resolve it to inspect refreshes).</summary>
    /// <param name="clientName">The HTTP client's name.</param>
    /// <returns>The key.</returns>
    public static string CacheKey(string clientName) => "Stefna.TokenCache:" + clientName;
}
