using System.Globalization;
using Polly;
using Polly.Retry;

namespace Stefna.Sdk.Cloudinary;

// The retry pipeline and the rate-limit reset Cloudinary announces.
public sealed partial class CloudinaryClient
{
    /// <summary>
    /// The retries, on Polly (a served, well-kept library) rather than a loop of our own. Two retry strategies: the
    /// outer one waits out rate limits (420/429) for the reset Cloudinary announces, up to
    /// <see cref="CloudinaryOptions.MaxRateLimitRetries"/> times and only while the reset is within
    /// <see cref="CloudinaryOptions.MaxRateLimitWait"/>; the inner one retries 5xx answers and broken connections with
    /// exponential back-off from <see cref="CloudinaryOptions.ServerErrorBackoff"/>, up to
    /// <see cref="CloudinaryOptions.MaxServerErrorRetries"/> times. They run around the callback that builds the signed
    /// form, which is why this is a <see cref="ResiliencePipeline{T}"/> and not an <c>HttpClient</c> resilience handler:
    /// a handler would resend the first attempt's form with its stale timestamp and signature. Waits run on the client's
    /// <see cref="TimeProvider"/>.
    /// </summary>
    private ResiliencePipeline<HttpResponseMessage> BuildRetries()
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = _time };
        if (_options.MaxRateLimitRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                Name = "cloudinary-rate-limit",
                MaxRetryAttempts = _options.MaxRateLimitRetries,
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Result is { } response && IsRateLimit(response) && RateLimitDelay(response) <= _options.MaxRateLimitWait),
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(RateLimitDelay(args.Outcome.Result!)),
                OnRetry = args =>
                {
                    Log.RateLimited(_logger, args.Context.OperationKey ?? "request", (int)args.Outcome.Result!.StatusCode, args.RetryDelay, args.AttemptNumber + 1);
                    return ValueTask.CompletedTask;
                },
            });
        }

        if (_options.MaxServerErrorRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                Name = "cloudinary-server-error",
                MaxRetryAttempts = _options.MaxServerErrorRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = false,
                Delay = _options.ServerErrorBackoff,
                MaxDelay = null,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome switch
                {
                    { Exception: HttpRequestException } => true,
                    { Result: { } response } => (int)response.StatusCode >= 500,
                    _ => false,
                }),
                OnRetry = args =>
                {
                    var status = args.Outcome.Result is { } response ? (int)response.StatusCode : 0;
                    var message = args.Outcome.Exception is { } ex ? Redact(ex.Message) : args.Outcome.Result?.ReasonPhrase ?? string.Empty;
                    Log.Retrying(_logger, args.Context.OperationKey ?? "request", status, args.RetryDelay, args.AttemptNumber + 1, message);
                    return ValueTask.CompletedTask;
                },
            });
        }

        return builder.Build();
    }

    private static bool IsRateLimit(HttpResponseMessage response) => (int)response.StatusCode is 420 or 429;

    // The announced reset, or 1 s when Cloudinary sends none.
    private TimeSpan RateLimitDelay(HttpResponseMessage response) => RateLimitWait(response) ?? TimeSpan.FromSeconds(1);

    // Cloudinary says when the limit resets in X-RateLimit-Reset (an HTTP date, epoch seconds or seconds to wait);
    // proxies and the standard say Retry-After.
    private TimeSpan? RateLimitWait(HttpResponseMessage response)
    {
        var now = _time.GetUtcNow();
        if (response.Headers.RetryAfter is { } retryAfter)
        {
            if (retryAfter.Delta is { } delta)
            {
                return Clamp(delta);
            }

            if (retryAfter.Date is { } date)
            {
                return Clamp(date - now);
            }
        }

        foreach (var header in new[] { "X-RateLimit-Reset", "X-FeatureRateLimit-Reset" })
        {
            if (response.Headers.TryGetValues(header, out var values) && values.FirstOrDefault() is { } text)
            {
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
                {
                    return Clamp(number > 1_000_000_000 ? DateTimeOffset.FromUnixTimeMilliseconds((long)(number * 1000)) - now : TimeSpan.FromSeconds(number));
                }

                if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var reset))
                {
                    return Clamp(reset - now);
                }
            }
        }

        return null;
    }

    private static TimeSpan Clamp(TimeSpan value) => value < TimeSpan.Zero ? TimeSpan.Zero : value;
}
