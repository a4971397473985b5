using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Configuration;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Binds Stefna's options from configuration (<c>appsettings.json</c>, environment variables, …).</summary>
public static class StefnaConfigurationExtensions
{
    /// <summary>Binds every Stefna option from the configuration section at <paramref name="sectionPath"/> of the
    /// host's <see cref="IConfiguration"/>: the core's options at its root, each type's under <c>Types:&lt;type&gt;</c>,
    /// and each store, storage and provider package's under its own key. Values set in code after binding win; call it
    /// before or after adding types and packages, it applies to all of them. Validation failures name the key.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="sectionPath">The section's path. Default <c>Stefna</c>.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder BindConfiguration(this IStefnaBuilder builder, string sectionPath = StefnaConfigurationKeys.DefaultSectionPath)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(sectionPath);
        StefnaConfigurationKeys.In(builder.Services).SetSource(
            sectionPath,
            sp => sectionPath.Length == 0 ? sp.GetRequiredService<IConfiguration>() : sp.GetRequiredService<IConfiguration>().GetSection(sectionPath));
        return builder;
    }

    /// <summary>Binds every Stefna option from <paramref name="section"/> (for example
    /// <c>builder.Configuration.GetSection("Stefna")</c>), as <see cref="BindConfiguration(IStefnaBuilder, string)"/>.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="section">The Stefna section.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder BindConfiguration(this IStefnaBuilder builder, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        StefnaConfigurationKeys.In(builder.Services).SetSource((section as IConfigurationSection)?.Path ?? string.Empty, _ => section);
        return builder;
    }

    /// <summary>For store, storage and provider packages: binds these options from <paramref name="key"/> under the
    /// Stefna section when the host binds configuration (<see cref="BindConfiguration(IStefnaBuilder, string)"/>), and
    /// records the key so validators can name it (<see cref="StefnaConfigurationKeys.KeyOf{TOptions}"/>). Call it
    /// before configuring the options in code, so code wins. Harmless when called again for the same options.</summary>
    /// <typeparam name="TOptions">The options type.</typeparam>
    /// <param name="options">The options builder.</param>
    /// <param name="key">The key under the Stefna section, e.g. <c>Sqlite</c> or <c>Types:neo-glitch</c>; empty for the
    /// section itself.</param>
    /// <returns>The options builder.</returns>
    public static OptionsBuilder<TOptions> BindStefnaConfiguration<TOptions>(this OptionsBuilder<TOptions> options, string key)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(key);
        var keys = StefnaConfigurationKeys.In(options.Services);
        if (!keys.Register<TOptions>(options.Name, key))
        {
            return options;
        }

        var name = options.Name;
        options.Services.AddSingleton<IConfigureOptions<TOptions>>(sp => new ConfigureNamedOptions<TOptions>(name, o => keys.Section(sp, key)?.Bind(o)));
        options.Services.AddSingleton<IOptionsChangeTokenSource<TOptions>>(sp =>
            new ConfigurationChangeTokenSource<TOptions>(name, keys.Section(sp, key) ?? new ConfigurationBuilder().Build()));
        return options;
    }
}
