using Contoso.Sample;
using Stefna.Sdk.Configuration;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the sample-type generation type.</summary>
public static class SampleTypeBuilderExtensions
{
    /// <summary>Adds the sample-type generation type (its table is created at start-up). Safe to call more than once.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="configure">Configures the type's concurrency, timeouts and resilience.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder AddSampleType(this IStefnaBuilder builder, Action<GenerationTypeOptions>? configure = null) =>
        builder.AddGenerator<SampleTypeGenerator>(configure);
}
