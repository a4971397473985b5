using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Providers.Offline;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Chooses the offline image provider on the Stefna builder.</summary>
public static class OfflineProviderBuilderExtensions
{
    /// <summary>Uses the offline provider (<c>offline</c>) as the default image provider: real, deterministic image
    /// effects rendered locally, no network and no keys. Replaces any default provider chosen before. Options bind
    /// from <c>Stefna:Offline</c> when the host binds configuration.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseOfflineProvider(this IStefnaBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<OfflineProviderOptions>().BindStefnaConfiguration(OfflineProviderOptions.ConfigurationKey).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OfflineProviderOptions>, OfflineProviderOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        return builder.UseProvider<OfflineImageProvider>();
    }

    /// <summary>Uses the offline provider as the default image provider and configures it.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="configure">Configures <see cref="OfflineProviderOptions"/> (maximum size, simulated latency).</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseOfflineProvider(this IStefnaBuilder builder, Action<OfflineProviderOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.UseOfflineProvider();
        builder.Services.Configure(configure);
        return builder;
    }
}
