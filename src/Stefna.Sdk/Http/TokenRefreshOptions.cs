using Microsoft.Extensions.Options;

namespace Stefna.Sdk.Http;

/// <summary>Options of a <see cref="TokenRefreshHandler"/> (named options, the name being the HTTP client's name).</summary>
public sealed class TokenRefreshOptions
{
    /// <summary>How long before its expiry a cached token is already treated as expired, so a token never runs out
    /// in flight. Default 30 s.</summary>
    public TimeSpan ExpirySkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The <c>Authorization</c> scheme. Default <c>Bearer</c>.</summary>
    public string Scheme { get; set; } = "Bearer";
}

internal sealed class TokenRefreshOptionsValidator : IValidateOptions<TokenRefreshOptions>
{
    public ValidateOptionsResult Validate(string? name, TokenRefreshOptions options)
    {
        var failures = new List<string>();
        if (options.ExpirySkew < TimeSpan.Zero) failures.Add("ExpirySkew must not be negative.");
        if (string.IsNullOrWhiteSpace(options.Scheme) || options.Scheme.Any(char.IsWhiteSpace)) failures.Add("Scheme must be a single word such as Bearer.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
