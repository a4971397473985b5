using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Stefna.Sdk.Http;

/// <summary>
/// Sets the <c>Authorization</c> header from an <see cref="AccessTokenCache"/> and, when the service answers 401,
/// refreshes the token once and sends the request once more (its content is buffered so it can be resent). A second
/// 401 is returned to the caller as is. Put it inside (after) a resilience handler so every retry carries a valid token.
/// </summary>
public sealed partial class TokenRefreshHandler : DelegatingHandler
{
    private readonly AccessTokenCache _cache;
    private readonly string _scheme;
    private readonly ILogger _logger;

    /// <summary>Creates the handler over a shared cache.</summary>
    /// <param name="cache">The token cache (share one per credential).</param>
    /// <param name="scheme">The <c>Authorization</c> scheme.</param>
    /// <param name="logger">Logs refreshes (never the token).</param>
    public TokenRefreshHandler(AccessTokenCache cache, string scheme = "Bearer", ILogger<TokenRefreshHandler>? logger = null)
    {
        _cache = cache ?? throw new ArgumentNullException(nameof(cache));
        ArgumentException.ThrowIfNullOrWhiteSpace(scheme);
        _scheme = scheme;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>Creates the handler with a cache of its own.</summary>
    /// <param name="source">Where tokens come from.</param>
    /// <param name="time">The clock used for expiry.</param>
    /// <param name="expirySkew">How long before expiry a token is already refreshed.</param>
    public TokenRefreshHandler(IAccessTokenSource source, TimeProvider? time = null, TimeSpan? expirySkew = null)
        : this(new AccessTokenCache(source, time, expirySkew))
    {
    }

    /// <summary>The cache the handler reads tokens from.</summary>
    public AccessTokenCache Cache => _cache;

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Content is not null)
        {
            // Buffered once, so the retry after a 401 can send the same bytes.
            await request.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        }

        var (token, version) = await _cache.GetAsync(cancellationToken).ConfigureAwait(false);
        request.Headers.Authorization = new AuthenticationHeaderValue(_scheme, token.Value);
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized)
        {
            return response;
        }

        LogRejected(_logger, request.Method.Method, request.RequestUri?.GetLeftPart(UriPartial.Path));
        (token, _) = await _cache.GetRefreshedAsync(version, cancellationToken).ConfigureAwait(false);
        using var retry = await CloneAsync(request, cancellationToken).ConfigureAwait(false);
        retry.Headers.Authorization = new AuthenticationHeaderValue(_scheme, token.Value);
        response.Dispose();
        return await base.SendAsync(retry, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<HttpRequestMessage> CloneAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var clone = new HttpRequestMessage(request.Method, request.RequestUri)
        {
            Version = request.Version,
            VersionPolicy = request.VersionPolicy,
        };
        foreach (var header in request.Headers)
        {
            clone.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        foreach (var option in request.Options)
        {
            clone.Options.Set(new HttpRequestOptionsKey<object?>(option.Key), option.Value);
        }

        if (request.Content is not null)
        {
            var bytes = await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            clone.Content = new ByteArrayContent(bytes);
            foreach (var header in request.Content.Headers)
            {
                clone.Content.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        return clone;
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "{Method} {Url} answered 401; refreshing the access token and retrying once")]
    private static partial void LogRejected(ILogger logger, string method, string? url);
}
