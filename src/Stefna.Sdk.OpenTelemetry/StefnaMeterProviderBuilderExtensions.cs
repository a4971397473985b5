using Stefna.Sdk.Diagnostics;

namespace OpenTelemetry.Metrics;

/// <summary>Subscribes OpenTelemetry metrics to the Stefna SDK.</summary>
public static class StefnaMeterProviderBuilderExtensions
{
    /// <summary>Adds the SDK's meter (<see cref="StefnaTelemetry.Name"/>: <c>stefna.jobs.submitted</c>,
    /// <c>completed</c>, <c>failed</c>, <c>retried</c>, <c>stefna.job.duration</c>, provider calls and fallbacks, each
    /// tagged with <c>stefna.type</c>) and Polly's (<c>Polly</c>: each type's retry, circuit-breaker and timeout events).</summary>
    /// <param name="builder">The meter provider builder.</param>
    /// <returns>The builder.</returns>
    public static MeterProviderBuilder AddStefnaInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(StefnaTelemetry.Name, "Polly");
    }
}
