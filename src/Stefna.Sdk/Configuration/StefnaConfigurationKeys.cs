using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Stefna.Sdk.Configuration;

/// <summary>
/// Where each Stefna option lives in configuration once the host called <c>BindConfiguration</c>: the core's options
/// at the section's root (<c>Stefna:MaxAttempts</c>), a type's under <c>Stefna:Types:&lt;type&gt;</c>, each store,
/// storage and provider package under its own key (<c>Stefna:Sqlite</c>, <c>Stefna:Postgres</c>,
/// <c>Stefna:Cloudinary</c>, <c>Stefna:AimlApi</c>, <c>Stefna:Offline</c>, …). Options validators use it so a failure
/// names the key a person edits (<c>Stefna:Types:neo-glitch:MaxInFlight must be …</c>). One instance per service
/// collection, registered by <c>AddStefna()</c>.
/// </summary>
public sealed class StefnaConfigurationKeys
{
    /// <summary>The section Stefna binds from by default: <c>Stefna</c>.</summary>
    public const string DefaultSectionPath = "Stefna";

    private readonly ConcurrentDictionary<(Type Options, string Name), string> _keys = new();
    private Func<IServiceProvider, IConfiguration>? _source;
    private string? _rootPath;

    internal StefnaConfigurationKeys()
    {
    }

    /// <summary>Keys of a host that bound no configuration: options are named by type and member
    /// (<c>SqliteStoreOptions.DatabasePath</c>).</summary>
    public static StefnaConfigurationKeys Unbound { get; } = new();

    /// <summary>The configuration path of the Stefna section (<c>Stefna</c>), or <see langword="null"/> when the host
    /// bound no configuration.</summary>
    public string? SectionPath => _rootPath;

    /// <summary>The name of one option as a person sets it: its configuration key when the host bound configuration and
    /// the options have a key (<c>Stefna:Sqlite:DatabasePath</c>), else the options' type and member
    /// (<c>SqliteStoreOptions.DatabasePath</c>, <c>GenerationTypeOptions[neo-glitch].MaxInFlight</c>).</summary>
    /// <typeparam name="TOptions">The options type.</typeparam>
    /// <param name="optionsName">The named-options name (empty or <see langword="null"/> for the default).</param>
    /// <param name="member">The option's property name.</param>
    /// <returns>The key.</returns>
    public string KeyOf<TOptions>(string? optionsName, string member)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(member);
        var name = optionsName ?? Microsoft.Extensions.Options.Options.DefaultName;
        if (_rootPath is not null && _keys.TryGetValue((typeof(TOptions), name), out var key))
        {
            return ConfigurationPath.Combine(new[] { _rootPath, key, member }.Where(p => p.Length > 0));
        }

        return string.IsNullOrEmpty(name)
            ? $"{typeof(TOptions).Name}.{member}"
            : $"{typeof(TOptions).Name}[{name}].{member}";
    }

    /// <summary>The keys of a service collection: the instance <c>AddStefna()</c> registered, created when missing.</summary>
    /// <param name="services">The services.</param>
    /// <returns>The keys.</returns>
    internal static StefnaConfigurationKeys In(IServiceCollection services)
    {
        if (services.FirstOrDefault(d => d.ServiceType == typeof(StefnaConfigurationKeys) && !d.IsKeyedService)?.ImplementationInstance is StefnaConfigurationKeys existing)
        {
            return existing;
        }

        var keys = new StefnaConfigurationKeys();
        services.AddSingleton(keys);
        return keys;
    }

    /// <summary>Records that options of <typeparamref name="TOptions"/> named <paramref name="name"/> bind from
    /// <paramref name="key"/> under the Stefna section; false when they already were.</summary>
    internal bool Register<TOptions>(string name, string key) => _keys.TryAdd((typeof(TOptions), name), key);

    internal void SetSource(string rootPath, Func<IServiceProvider, IConfiguration> source)
    {
        _rootPath = rootPath;
        _source = source;
    }

    /// <summary>The section at <paramref name="key"/> under the Stefna section, or <see langword="null"/> when the host
    /// bound no configuration.</summary>
    internal IConfiguration? Section(IServiceProvider services, string key)
    {
        if (_source is null)
        {
            return null;
        }

        var root = _source(services);
        return key.Length == 0 ? root : root.GetSection(key);
    }
}
