namespace Stefna.Sdk.Providers;

/// <summary>A provider is rate-limiting or temporarily down and said when to come back (HTTP <c>Retry-After</c>);
/// the type's resilience pipeline waits that long before its next try.</summary>
public sealed class ProviderRetryAfterException : GenerationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="retryAfter">How long to wait.</param>
    /// <param name="message">What happened.</param>
    public ProviderRetryAfterException(TimeSpan retryAfter, string message)
        : base(GenerationErrorCategory.ProviderUnavailable, message, "provider_unavailable.rate_limited")
    {
        RetryAfter = retryAfter;
    }

    /// <summary>How long the provider asked to wait.</summary>
    public TimeSpan RetryAfter { get; }
}
