using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Net;
using Stefna.Sdk.Internal;

namespace Stefna.Sdk.Webhooks;

/// <summary>Checks a request's webhook URL at submit: its shape, that it can be delivered (a store with an outbox, a
/// signing secret), and that it resolves to allowed addresses (the SSRF guard; delivery checks again at connect time).</summary>
internal sealed class WebhookUrlGuard(MediaStoreRouter stores, IHostAddressResolver resolver, IImageAddressPolicy policy, IOptions<StefnaWebhookOptions> options)
{
    private const string Field = "webhookUrl";

    public async Task CheckAsync(string type, Uri url, CancellationToken cancellationToken)
    {
        var webhook = options.Value;
        if (WebhookUrls.Problem(url.IsAbsoluteUri ? url.AbsoluteUri : url.OriginalString) is { } problem)
        {
            throw new GenerationValidationException(Field, "The webhook URL " + problem, "webhook_url_invalid");
        }

        if (stores.For(type) is not IWebhookOutbox)
        {
            throw new GenerationValidationException(Field, $"The store of '{type}' has no webhook outbox, so it cannot deliver webhooks.", "webhook_unsupported");
        }

        if (webhook.Secrets.Count == 0)
        {
            throw new GenerationValidationException(Field, "No webhook signing secret is configured (Stefna:Webhooks:Secrets, or STEFNA_WEBHOOK_SECRET in the CLI).", "webhook_no_secret");
        }

        if (webhook.AllowPrivateUrls)
        {
            return;
        }

        IPAddress[] addresses;
        try
        {
            addresses = await resolver.ResolveAsync(url.IdnHost, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException)
        {
            throw new GenerationValidationException(Field, $"The webhook URL's host '{url.Host}' could not be resolved.", "webhook_url_unresolved");
        }

        if (addresses.Length == 0 || Array.Exists(addresses, a => !policy.IsAllowed(a)))
        {
            throw new GenerationValidationException(Field, $"The webhook URL's host '{url.Host}' resolves to a loopback, private or link-local address, which is not allowed.", "webhook_url_private_address");
        }
    }
}
