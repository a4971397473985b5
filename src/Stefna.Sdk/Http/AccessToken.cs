namespace Stefna.Sdk.Http;

/// <summary>A bearer credential and when it stops being valid. Its <see cref="ToString"/> never shows the value.</summary>
/// <param name="Value">The secret sent in the <c>Authorization</c> header.</param>
/// <param name="ExpiresAt">When the token expires; <see cref="DateTimeOffset.MaxValue"/> for keys that never do.</param>
public sealed record AccessToken(string Value, DateTimeOffset ExpiresAt)
{
    /// <summary>A token that never expires, e.g. a static API key.</summary>
    /// <param name="value">The key.</param>
    /// <returns>The token.</returns>
    public static AccessToken NonExpiring(string value) => new(value, DateTimeOffset.MaxValue);

    /// <summary>Describes the token without its value.</summary>
    /// <returns>A redacted description.</returns>
    public override string ToString() =>
        ExpiresAt == DateTimeOffset.MaxValue ? "AccessToken { Value = ***, never expires }" : $"AccessToken {{ Value = ***, ExpiresAt = {ExpiresAt:O} }}";
}

/// <summary>Where a <see cref="TokenRefreshHandler"/> gets its credential: a static key, an OAuth client, a secret store.</summary>
public interface IAccessTokenSource
{
    /// <summary>Returns a token to use now.</summary>
    /// <param name="forceRefresh"><see langword="true"/> when the service rejected the last token (HTTP 401): fetch a
    /// new one rather than returning anything cached.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The token.</returns>
    ValueTask<AccessToken> GetTokenAsync(bool forceRefresh, CancellationToken cancellationToken);
}

/// <summary>An <see cref="IAccessTokenSource"/> over a fixed API key, read through a delegate on every refresh so a
/// rotated key (reloaded configuration, environment) is picked up after a 401.</summary>
public sealed class StaticAccessTokenSource : IAccessTokenSource
{
    private readonly Func<string?> _key;

    /// <summary>Creates the source over a key that does not change.</summary>
    /// <param name="key">The key.</param>
    public StaticAccessTokenSource(string key)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        _key = () => key;
    }

    /// <summary>Creates the source over a key read on each call (for keys that may be rotated).</summary>
    /// <param name="key">Reads the current key.</param>
    public StaticAccessTokenSource(Func<string?> key)
    {
        _key = key ?? throw new ArgumentNullException(nameof(key));
    }

    /// <inheritdoc />
    public ValueTask<AccessToken> GetTokenAsync(bool forceRefresh, CancellationToken cancellationToken)
    {
        var key = _key();
        return string.IsNullOrWhiteSpace(key)
            ? throw new InvalidOperationException("No API key is configured.")
            : ValueTask.FromResult(AccessToken.NonExpiring(key.Trim()));
    }

    /// <inheritdoc />
    public override string ToString() => "StaticAccessTokenSource { Key = *** }";
}
