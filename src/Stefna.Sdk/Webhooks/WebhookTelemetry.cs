using System.Diagnostics;
using System.Diagnostics.Metrics;
using Stefna.Sdk.Diagnostics;

namespace Stefna.Sdk.Webhooks;

/// <summary>The delivery metrics, on the SDK's meter (<see cref="StefnaTelemetry.Name"/>); tagged with the generation
/// type (<c>stefna.type</c>) and the event type (<c>stefna.webhook.event</c>).</summary>
internal sealed class WebhookTelemetry
{
    public const string EventTag = "stefna.webhook.event";

    /// <summary>The instruments, on the SDK's meter from the host's <see cref="IMeterFactory"/>.</summary>
    /// <param name="meterFactory">The host's meter factory.</param>
    public WebhookTelemetry(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = StefnaMetrics.Create(meterFactory);
        Attempts = meter.CreateCounter<long>("stefna.webhooks.attempts", "{attempt}", "Webhook delivery attempts (POSTs made).");
        Delivered = meter.CreateCounter<long>("stefna.webhooks.delivered", "{message}", "Webhook messages delivered (a 2xx answer).");
        Failures = meter.CreateCounter<long>("stefna.webhooks.failures", "{attempt}", "Webhook delivery attempts that failed (non-2xx, timeout, connection refused); each is retried until the maximum age.");
        Abandoned = meter.CreateCounter<long>("stefna.webhooks.abandoned", "{message}", "Webhook messages given up after their maximum age.");
        Latency = meter.CreateHistogram<double>("stefna.webhooks.latency", "s", "Time from the job's status change to the successful delivery of its event.");
        RequestDuration = meter.CreateHistogram<double>("stefna.webhooks.request.duration", "s", "Duration of one delivery POST.");
    }

    public Counter<long> Attempts { get; }

    public Counter<long> Delivered { get; }

    public Counter<long> Failures { get; }

    public Counter<long> Abandoned { get; }

    public Histogram<double> Latency { get; }

    public Histogram<double> RequestDuration { get; }

    public static TagList Tags(WebhookMessage message) => new() { { StefnaTelemetry.TypeTag, message.Type }, { EventTag, message.EventType } };
}
