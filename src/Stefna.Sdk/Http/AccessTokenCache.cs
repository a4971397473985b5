namespace Stefna.Sdk.Http;

/// <summary>
/// Caches the token of an <see cref="IAccessTokenSource"/> until its expiry minus a skew, and refreshes it
/// single-flight: however many requests find it expired (or rejected) at once, the source is asked once. Thread-safe;
/// share one instance per credential (HTTP message handlers are recycled, the cache should outlive them).
/// </summary>
public sealed class AccessTokenCache
{
    private readonly IAccessTokenSource _source;
    private readonly TimeProvider _time;
    private readonly TimeSpan _skew;
    private readonly Lock _gate = new();
    private CachedToken? _cached;
    private Task<CachedToken>? _refreshing;
    private long _refreshes;

    /// <summary>Creates the cache.</summary>
    /// <param name="source">Where tokens come from.</param>
    /// <param name="time">The clock used for expiry.</param>
    /// <param name="expirySkew">How long before expiry a token is already refreshed.</param>
    public AccessTokenCache(IAccessTokenSource source, TimeProvider? time = null, TimeSpan? expirySkew = null)
    {
        _source = source ?? throw new ArgumentNullException(nameof(source));
        _time = time ?? TimeProvider.System;
        _skew = expirySkew ?? TimeSpan.FromSeconds(30);
        ArgumentOutOfRangeException.ThrowIfLessThan(_skew, TimeSpan.Zero, nameof(expirySkew));
    }

    /// <summary>How many times the source has been asked for a token.</summary>
    public long RefreshCount => Interlocked.Read(ref _refreshes);

    /// <summary>Returns a valid token, refreshing it when none is cached or the cached one is (nearly) expired.</summary>
    /// <param name="cancellationToken">Cancels this caller's wait (a refresh under way continues for the others).</param>
    /// <returns>The token and its version (pass the version to <see cref="GetRefreshedAsync"/> after a 401).</returns>
    public ValueTask<(AccessToken Token, long Version)> GetAsync(CancellationToken cancellationToken) => GetCoreAsync(rejectedVersion: null, cancellationToken);

    /// <summary>Returns a token newer than the rejected one: refreshes once (forced), unless another caller already did.</summary>
    /// <param name="rejectedVersion">The version of the token the service rejected.</param>
    /// <param name="cancellationToken">Cancels this caller's wait.</param>
    /// <returns>The new token and its version.</returns>
    public ValueTask<(AccessToken Token, long Version)> GetRefreshedAsync(long rejectedVersion, CancellationToken cancellationToken) => GetCoreAsync(rejectedVersion, cancellationToken);

    private async ValueTask<(AccessToken Token, long Version)> GetCoreAsync(long? rejectedVersion, CancellationToken cancellationToken)
    {
        Task<CachedToken> refresh;
        lock (_gate)
        {
            if (_cached is { } cached && IsFresh(cached.Token) && (rejectedVersion is null || cached.Version != rejectedVersion))
            {
                return (cached.Token, cached.Version);
            }

            // Single flight: the first caller starts the refresh, everyone else awaits the same task.
            _refreshing ??= Task.Run(() => RefreshAsync(force: rejectedVersion is not null));
            refresh = _refreshing;
        }

        var token = await refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        return (token.Token, token.Version);
    }

    private async Task<CachedToken> RefreshAsync(bool force)
    {
        try
        {
            Interlocked.Increment(ref _refreshes);

            // Not bound to any one caller's token: a caller giving up must not fail the refresh the others wait on.
            var token = await _source.GetTokenAsync(force, CancellationToken.None).ConfigureAwait(false);
            if (token is null || string.IsNullOrEmpty(token.Value))
            {
                throw new InvalidOperationException("The access token source returned an empty token.");
            }

            lock (_gate)
            {
                _cached = new CachedToken(token, (_cached?.Version ?? 0) + 1);
                return _cached;
            }
        }
        finally
        {
            lock (_gate)
            {
                _refreshing = null;
            }
        }
    }

    private bool IsFresh(AccessToken token) =>
        token.ExpiresAt == DateTimeOffset.MaxValue || _time.GetUtcNow() < token.ExpiresAt - _skew;

    private sealed record CachedToken(AccessToken Token, long Version);
}
