using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Sqlite;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Chooses the embedded SQLite job store on the Stefna builder.</summary>
public static class SqliteBuilderExtensions
{
    /// <summary>Stores jobs in a SQLite database file (created, with its folder, when missing).</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="databasePath">The database file, e.g. <c>./stefna-data/stefna.db</c>.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseSqlite(this IStefnaBuilder builder, string databasePath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        return builder.UseSqlite(options => options.DatabasePath = databasePath);
    }

    /// <summary>Stores jobs in the SQLite database file configured at <c>Stefna:Sqlite</c> (<c>DatabasePath</c>,
    /// <c>BusyTimeout</c>) when the host binds configuration (<c>AddStefna(configuration)</c>); validated at start-up.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseSqlite(this IStefnaBuilder builder) => builder.UseSqlite(_ => { });

    /// <summary>Stores jobs in a SQLite database file configured by <paramref name="configure"/> (applied after
    /// <c>Stefna:Sqlite</c> when the host binds configuration); the options are validated when the host starts.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="configure">Configures <see cref="SqliteStoreOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseSqlite(this IStefnaBuilder builder, Action<SqliteStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var services = builder.Services;
        services.AddOptions<SqliteStoreOptions>().BindStefnaConfiguration(SqliteStoreOptions.ConfigurationKey).Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SqliteStoreOptions>, SqliteStoreOptionsValidator>());
        services.TryAddSingleton(sp => new SqliteMediaStore(
            sp.GetRequiredService<IOptions<SqliteStoreOptions>>().Value,
            sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetService<ILogger<SqliteMediaStore>>()));
        return builder.UseMediaStore(sp => sp.GetRequiredService<SqliteMediaStore>());
    }

    /// <summary>Gives one generation type a SQLite database file of its own (its dedicated store), beside the host's
    /// default store; see <c>UseMediaStore(type, …)</c>. The options bind from <c>Stefna:Types:&lt;type&gt;:Sqlite</c>
    /// when the host binds configuration and are validated when the host starts.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="type">The type's canonical name, e.g. <c>neo-glitch</c>.</param>
    /// <param name="databasePath">The type's database file.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseSqlite(this IStefnaBuilder builder, string type, string databasePath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        return builder.UseSqlite(type, options => options.DatabasePath = databasePath);
    }

    /// <summary>Gives one generation type a SQLite database of its own configured by <paramref name="configure"/>
    /// (applied after <c>Stefna:Types:&lt;type&gt;:Sqlite</c> when the host binds configuration); validated when the
    /// host starts.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="type">The type's canonical name.</param>
    /// <param name="configure">Configures the type's <see cref="SqliteStoreOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseSqlite(this IStefnaBuilder builder, string type, Action<SqliteStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(type);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SqliteStoreOptions>, SqliteStoreOptionsValidator>());
        return builder.UseMediaStore<SqliteStoreOptions>(type, SqliteStoreOptions.ConfigurationKey, configure, (sp, options) => new SqliteMediaStore(
            options,
            sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetService<ILogger<SqliteMediaStore>>()));
    }
}
