using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Stefna.Sdk.Diagnostics;

/// <summary>The SDK's instruments, on a meter named <see cref="StefnaTelemetry.Name"/> created by the host's
/// <see cref="IMeterFactory"/> (one per service provider), so two hosts in one process, or a test's
/// <c>MetricCollector</c>, see only their own measurements.</summary>
internal sealed class StefnaMetrics
{
    public StefnaMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = Create(meterFactory);
        JobsSubmitted = meter.CreateCounter<long>("stefna.jobs.submitted", "{job}", "Jobs accepted by the pipeline.");
        JobsCompleted = meter.CreateCounter<long>("stefna.jobs.completed", "{job}", "Jobs completed.");
        JobsFailed = meter.CreateCounter<long>("stefna.jobs.failed", "{job}", "Jobs failed for good.");
        JobsRetried = meter.CreateCounter<long>("stefna.jobs.retried", "{job}", "Attempts put back in the queue after a transient failure.");
        JobsParked = meter.CreateCounter<long>("stefna.jobs.parked", "{job}", "Attempts that parked their job at an asynchronous provider (each later check that finds it still running parks it again).");
        JobDuration = meter.CreateHistogram<double>("stefna.job.duration", "s", "Time from claim to completion of one attempt.");
    }

    public Counter<long> JobsSubmitted { get; }

    public Counter<long> JobsCompleted { get; }

    public Counter<long> JobsFailed { get; }

    public Counter<long> JobsRetried { get; }

    public Counter<long> JobsParked { get; }

    public Histogram<double> JobDuration { get; }

    /// <summary>The SDK's meter from <paramref name="meterFactory"/> (the factory caches it: one per factory).</summary>
    internal static Meter Create(IMeterFactory meterFactory) =>
        meterFactory.Create(new MeterOptions(StefnaTelemetry.Name) { Version = typeof(StefnaTelemetry).Assembly.GetName().Version?.ToString() });

    internal static TagList TypeTags(string type) => new() { { StefnaTelemetry.TypeTag, type } };
}
