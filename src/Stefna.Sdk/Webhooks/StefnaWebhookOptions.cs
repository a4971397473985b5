using Microsoft.Extensions.Options;
using Stefna.Sdk.Configuration;

namespace Stefna.Sdk.Webhooks;

/// <summary>Webhook delivery options, bound from <c>Stefna:Webhooks</c>. Events of finished jobs
/// (<see cref="WebhookEventTypes"/>) go to the job's own callback URL (<see cref="GenerationRequest.WebhookUrl"/>) and to
/// every URL in <see cref="Endpoints"/>, signed per Standard Webhooks with <see cref="Secrets"/>.</summary>
public sealed class StefnaWebhookOptions
{
    /// <summary>The configuration key under the Stefna section.</summary>
    public const string ConfigurationKey = "Webhooks";

    /// <summary>The signing secrets, <c>whsec_&lt;base64&gt;</c>; every message is signed with each (one signature per
    /// secret), so during a rotation list the new secret and the old one until every receiver has the new one. Required
    /// when any webhook is used. Never logged.</summary>
    public IList<string> Secrets { get; } = [];

    /// <summary>URLs (absolute http or https) that receive the events of every job of every type, in addition to each
    /// job's own callback URL. Read when the store initialises.</summary>
    public IList<string> Endpoints { get; } = [];

    /// <summary>Allows webhook URLs that resolve to loopback, private, link-local or other non-public addresses (local
    /// tests, receivers inside the host's own network). Off by default: a user's callback URL must not reach into the
    /// host's network.</summary>
    public bool AllowPrivateUrls { get; set; }

    /// <summary>Whether this host runs the delivery loop (with the background worker, <see cref="StefnaOptions.RunWorker"/>).
    /// Default <see langword="true"/>.</summary>
    public bool RunDelivery { get; set; } = true;

    /// <summary>How long after the event a message is retried before it is given up (dead-lettered in the outbox). Default 24 h.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The delay before the first retry; each later one doubles, up to <see cref="MaxRetryDelay"/>. Default 2 s.</summary>
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The longest delay between two attempts. Default 10 min.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long one delivery request may take before it counts as failed. Default 15 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often the delivery loop looks for due messages when nothing woke it. Default 1 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a host holds the messages it claimed before another host may take them over (a host that died
    /// mid-delivery). Default 1 min; at least <see cref="RequestTimeout"/>.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long delivered and given-up messages stay in the outbox for inspection before the delivery loop
    /// deletes them (<see cref="IWebhookOutbox.PruneWebhooksAsync"/>); pending messages are never deleted, so this need
    /// not exceed <see cref="MaxAge"/>. Default 7 days; positive.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>The most messages one claim takes (delivered concurrently). Default 32; 1 to 1,000.</summary>
    public int BatchSize { get; set; } = 32;
}

internal sealed class StefnaWebhookOptionsValidator(StefnaConfigurationKeys keys) : IValidateOptions<StefnaWebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, StefnaWebhookOptions options)
    {
        var failures = new List<string>();
        string K(string member) => keys.KeyOf<StefnaWebhookOptions>(name, member);
        for (var i = 0; i < options.Secrets.Count; i++)
        {
            try
            {
                WebhookSignature.DecodeSecret(options.Secrets[i] ?? string.Empty);
            }
            catch (FormatException ex)
            {
                failures.Add($"{K(nameof(options.Secrets))}:{i} is not a valid secret: {ex.Message}");
            }
        }

        for (var i = 0; i < options.Endpoints.Count; i++)
        {
            if (WebhookUrls.Problem(options.Endpoints[i]) is { } problem)
            {
                failures.Add($"{K(nameof(options.Endpoints))}:{i} {problem}");
            }
        }

        if (options.Endpoints.Count > 0 && options.Secrets.Count == 0) failures.Add($"{K(nameof(options.Secrets))} must hold at least one secret when {K(nameof(options.Endpoints))} are set.");
        if (options.MaxAge <= TimeSpan.Zero) failures.Add($"{K(nameof(options.MaxAge))} must be positive.");
        if (options.FirstRetryDelay <= TimeSpan.Zero) failures.Add($"{K(nameof(options.FirstRetryDelay))} must be positive.");
        if (options.MaxRetryDelay < options.FirstRetryDelay) failures.Add($"{K(nameof(options.MaxRetryDelay))} must be at least FirstRetryDelay.");
        if (options.RequestTimeout <= TimeSpan.Zero) failures.Add($"{K(nameof(options.RequestTimeout))} must be positive.");
        if (options.PollInterval <= TimeSpan.Zero) failures.Add($"{K(nameof(options.PollInterval))} must be positive.");
        if (options.LeaseDuration < options.RequestTimeout) failures.Add($"{K(nameof(options.LeaseDuration))} must be at least RequestTimeout.");
        if (options.Retention <= TimeSpan.Zero) failures.Add($"{K(nameof(options.Retention))} must be positive.");
        if (options.BatchSize is < 1 or > 1000) failures.Add($"{K(nameof(options.BatchSize))} must be between 1 and 1000.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>The shape checks of a webhook URL (the address check is the delivery's, at connect time).</summary>
internal static class WebhookUrls
{
    public const int MaxLength = 2000;

    public static string? Problem(string? url)
    {
        if (string.IsNullOrWhiteSpace(url) || url.Length > MaxLength)
        {
            return $"must be an absolute http or https URL of at most {MaxLength} characters.";
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return "must be an absolute http or https URL.";
        }

        if (uri.UserInfo.Length > 0)
        {
            return "must not carry user information (user:password@).";
        }

        return uri.Fragment.Length > 0 ? "must not have a fragment (#…)." : null;
    }
}
