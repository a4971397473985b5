using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Stefna.Sdk.Diagnostics;

/// <summary>The SDK's <see cref="ActivitySource"/> and <see cref="Meter"/>, both named <see cref="Name"/>. Every
/// activity and measurement carries the generation type as the <c>stefna.type</c> tag.</summary>
public static class StefnaTelemetry
{
    /// <summary>The name of the activity source and meter: subscribe to it in OpenTelemetry.</summary>
    public const string Name = "Stefna.Sdk";

    /// <summary>The tag holding the generation type.</summary>
    public const string TypeTag = "stefna.type";

    /// <summary>The tag holding a failure's category.</summary>
    public const string ErrorCategoryTag = "stefna.error.category";

    /// <summary>The tag holding a failure's code (e.g. <c>provider_unavailable.circuit_open</c>).</summary>
    public const string ErrorCodeTag = "stefna.error.code";

    /// <summary>The job meta key holding the W3C <c>traceparent</c> of the submit, so the worker's activity (on any
    /// host) links to it.</summary>
    public const string TraceParentMetaKey = "traceparent";

    /// <summary>The job meta key holding the submit's W3C <c>tracestate</c>, when it had one.</summary>
    public const string TraceStateMetaKey = "tracestate";

    /// <summary>The activity source.</summary>
    public static ActivitySource ActivitySource { get; } = new(Name, typeof(StefnaTelemetry).Assembly.GetName().Version?.ToString());

    /// <summary>The meter.</summary>
    public static Meter Meter { get; } = new(Name, typeof(StefnaTelemetry).Assembly.GetName().Version?.ToString());

    internal static Counter<long> JobsSubmitted { get; } = Meter.CreateCounter<long>("stefna.jobs.submitted", "{job}", "Jobs accepted by the pipeline.");

    internal static Counter<long> JobsCompleted { get; } = Meter.CreateCounter<long>("stefna.jobs.completed", "{job}", "Jobs completed.");

    internal static Counter<long> JobsFailed { get; } = Meter.CreateCounter<long>("stefna.jobs.failed", "{job}", "Jobs failed for good.");

    internal static Counter<long> JobsRetried { get; } = Meter.CreateCounter<long>("stefna.jobs.retried", "{job}", "Attempts put back in the queue after a transient failure.");

    internal static Counter<long> JobsParked { get; } = Meter.CreateCounter<long>("stefna.jobs.parked", "{job}", "Attempts that parked their job at an asynchronous provider (each later check that finds it still running parks it again).");

    internal static Histogram<double> JobDuration { get; } = Meter.CreateHistogram<double>("stefna.job.duration", "s", "Time from claim to completion of one attempt.");

    internal static TagList TypeTags(string type) => new() { { TypeTag, type } };

    /// <summary>Marks an activity failed: error status, the category and code as tags. Returns false, so it can sit in
    /// an exception filter without catching anything.</summary>
    internal static bool Failed(Activity? activity, GenerationError error)
    {
        if (activity is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error, error.Code);
            activity.SetTag(ErrorCategoryTag, GenerationError.CategoryCode(error.Category));
            activity.SetTag(ErrorCodeTag, error.Code);
        }

        return false;
    }

    /// <summary>The submit's trace context from a job's meta, to link the worker's activity to it.</summary>
    internal static ActivityLink[]? LinksFrom(IReadOnlyDictionary<string, string> meta) =>
        meta.TryGetValue(TraceParentMetaKey, out var parent)
        && ActivityContext.TryParse(parent, meta.GetValueOrDefault(TraceStateMetaKey), isRemote: true, out var context)
            ? [new ActivityLink(context)]
            : null;
}
