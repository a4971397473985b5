using System.Diagnostics;
using System.Diagnostics.Metrics;
using Stefna.Sdk.Diagnostics;

namespace Stefna.Sdk.Webhooks;

/// <summary>The delivery metrics, on the SDK's meter (<see cref="StefnaTelemetry.Name"/>); tagged with the generation
/// type (<c>stefna.type</c>) and the event type (<c>stefna.webhook.event</c>).</summary>
internal static class WebhookTelemetry
{
    public const string EventTag = "stefna.webhook.event";

    public static Counter<long> Attempts { get; } = StefnaTelemetry.Meter.CreateCounter<long>("stefna.webhooks.attempts", "{attempt}", "Webhook delivery attempts (POSTs made).");

    public static Counter<long> Delivered { get; } = StefnaTelemetry.Meter.CreateCounter<long>("stefna.webhooks.delivered", "{message}", "Webhook messages delivered (a 2xx answer).");

    public static Counter<long> Failures { get; } = StefnaTelemetry.Meter.CreateCounter<long>("stefna.webhooks.failures", "{attempt}", "Webhook delivery attempts that failed (non-2xx, timeout, connection refused); each is retried until the maximum age.");

    public static Counter<long> Abandoned { get; } = StefnaTelemetry.Meter.CreateCounter<long>("stefna.webhooks.abandoned", "{message}", "Webhook messages given up after their maximum age.");

    public static Histogram<double> Latency { get; } = StefnaTelemetry.Meter.CreateHistogram<double>("stefna.webhooks.latency", "s", "Time from the job's status change to the successful delivery of its event.");

    public static Histogram<double> RequestDuration { get; } = StefnaTelemetry.Meter.CreateHistogram<double>("stefna.webhooks.request.duration", "s", "Duration of one delivery POST.");

    public static TagList Tags(WebhookMessage message) => new() { { StefnaTelemetry.TypeTag, message.Type }, { EventTag, message.EventType } };
}
