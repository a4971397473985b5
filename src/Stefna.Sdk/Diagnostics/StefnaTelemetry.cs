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
}
