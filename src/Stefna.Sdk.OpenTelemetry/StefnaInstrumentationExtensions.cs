using Stefna.Sdk.Diagnostics;

namespace OpenTelemetry.Trace;

/// <summary>Subscribes OpenTelemetry tracing to the Stefna SDK.</summary>
public static class StefnaTracerProviderBuilderExtensions
{
    /// <summary>Adds the SDK's activity source (<see cref="StefnaTelemetry.Name"/>): a <c>stefna.submit</c> span per
    /// submit and a <c>stefna.generate</c> span per attempt, the latter in its own trace with a link to the submit's
    /// (the job carries the submit's <c>traceparent</c>, so the link holds across hosts). A failed attempt or submit has
    /// error status, with <c>stefna.error.category</c> and <c>stefna.error.code</c> tags.</summary>
    /// <param name="builder">The tracer provider builder.</param>
    /// <returns>The builder.</returns>
    public static TracerProviderBuilder AddStefnaInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(StefnaTelemetry.Name);
    }
}
