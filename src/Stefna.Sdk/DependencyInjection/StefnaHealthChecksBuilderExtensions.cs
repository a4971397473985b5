using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Diagnostics;
using Stefna.Sdk.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Stefna's health checks: <c>services.AddHealthChecks().AddStefnaHealthChecks()</c>.</summary>
public static class StefnaHealthChecksBuilderExtensions
{
    /// <summary>Adds one entry per registered generation type (named <c>stefna:&lt;type&gt;</c>, tagged <c>stefna</c> and
    /// the type's name), whatever the order of this call and the types': unhealthy when the store does not answer for the
    /// type's table, no provider is configured, or (on a host running the worker) the type's worker loop stopped or hung;
    /// degraded when its provider circuit is open or its oldest queued job waited longer than
    /// <see cref="StefnaHealthCheckOptions.MaxQueuedAge"/>. Each entry's data: type, provider, store, queued,
    /// oldestQueuedSeconds, circuit, worker, inFlight. Safe to call more than once.</summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="configure">Adjusts the thresholds (after <c>Stefna:HealthChecks</c>).</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddStefnaHealthChecks(this IHealthChecksBuilder builder, Action<StefnaHealthCheckOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<StefnaHealthCheckOptions>().BindStefnaConfiguration(StefnaHealthCheckOptions.ConfigurationKey);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        // The types are known only once the container is built (plug-ins may be added after this call).
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<HealthCheckServiceOptions>, ConfigureTypeChecks>());
        return builder;
    }

    private sealed class ConfigureTypeChecks(IServiceProvider services) : IConfigureOptions<HealthCheckServiceOptions>
    {
        public void Configure(HealthCheckServiceOptions options)
        {
            // The registrations only, not the registry: building generators and providers here (when the health check
            // service is first resolved, possibly before start-up validation) would turn an options error into theirs.
            foreach (var type in services.GetServices<GeneratorRegistration>().Select(r => r.Type).Distinct(StringComparer.Ordinal))
            {
                options.Registrations.Add(new HealthCheckRegistration(
                    StefnaHealthCheckOptions.NamePrefix + type,
                    sp => new GenerationTypeHealthCheck(type, sp),
                    HealthStatus.Unhealthy,
                    [StefnaHealthCheckOptions.Tag, type]));
            }
        }
    }
}
