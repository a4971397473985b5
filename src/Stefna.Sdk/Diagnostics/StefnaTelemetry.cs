using System.Diagnostics;

namespace Stefna.Sdk.Diagnostics;

/// <summary>The SDK's <see cref="ActivitySource"/> and the name of its meter, both <see cref="Name"/>. The meter is
/// created through the host's <see cref="System.Diagnostics.Metrics.IMeterFactory"/> (one per service provider), not
/// held in a static. Every activity and measurement carries the generation type as the <c>stefna.type</c> tag.</summary>
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
