using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Stefna.Sdk.Postgres;
using Stefna.Sdk.Storage;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Chooses PostgreSQL as the Stefna job store: <c>services.AddStefna().UsePostgres(connectionString)</c>.</summary>
public static class PostgresBuilderExtensions
{
    /// <summary>Stores jobs in PostgreSQL, connecting with a connection string (the store owns its data source).</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="connectionString">The Npgsql connection string.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UsePostgres(this IStefnaBuilder builder, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UsePostgres(o => o.ConnectionString = connectionString);
    }

    /// <summary>Stores jobs in PostgreSQL through a data source the application owns (not disposed by the store).</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="dataSource">The data source.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UsePostgres(this IStefnaBuilder builder, NpgsqlDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        return builder.UsePostgres(o => o.DataSource = dataSource);
    }

    /// <summary>Stores jobs in PostgreSQL through the <see cref="NpgsqlDataSource"/> registered in the container
    /// (<c>AddNpgsqlDataSource(...)</c> of Npgsql.DependencyInjection, or .NET Aspire's), unless a connection string is
    /// configured at <c>Stefna:Postgres:ConnectionString</c> when the host binds configuration
    /// (<c>AddStefna(configuration)</c>); the other options bind from <c>Stefna:Postgres</c> too. The container owns the
    /// data source: the store never disposes it.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UsePostgres(this IStefnaBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.UsePostgres(_ => { });
        // After every Configure: the container's data source only when neither code nor configuration gave a connection.
        builder.Services.AddOptions<PostgresStoreOptions>().PostConfigure<IServiceProvider>((o, sp) =>
        {
            if (o.DataSource is null && string.IsNullOrWhiteSpace(o.ConnectionString))
            {
                o.DataSource = sp.GetService<NpgsqlDataSource>();
            }
        });
        return builder;
    }

    /// <summary>Stores jobs in PostgreSQL through the keyed <see cref="NpgsqlDataSource"/> registered in the container
    /// under <paramref name="serviceKey"/> (<c>AddNpgsqlDataSource(connectionString, serviceKey: ...)</c>, Aspire's
    /// <c>AddKeyedNpgsqlDataSource</c>). The other options bind from <c>Stefna:Postgres</c> when the host binds
    /// configuration. The container owns the data source: the store never disposes it.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="serviceKey">The data source's service key.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseKeyedPostgres(this IStefnaBuilder builder, object serviceKey)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(serviceKey);
        builder.UsePostgres(_ => { });
        builder.Services.AddOptions<PostgresStoreOptions>().Configure<IServiceProvider>((o, sp) =>
            o.DataSource = sp.GetRequiredKeyedService<NpgsqlDataSource>(serviceKey));
        return builder;
    }

    /// <summary>Stores jobs in PostgreSQL, configured by <see cref="PostgresStoreOptions"/> (applied after
    /// <c>Stefna:Postgres</c> when the host binds configuration; validated at start-up).
    /// Registers the store as the <see cref="IMediaStore"/> and as the <see cref="IJobNotificationSource"/> workers
    /// wake on.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="configure">Configures the options.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UsePostgres(this IStefnaBuilder builder, Action<PostgresStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var services = builder.Services;
        services.AddOptions<PostgresStoreOptions>().BindStefnaConfiguration(PostgresStoreOptions.ConfigurationKey).Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgresStoreOptions>, PostgresStoreOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new PostgresMediaStore(
            sp.GetRequiredService<IOptions<PostgresStoreOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<PostgresMediaStore>>()));
        builder.UseMediaStore(sp => sp.GetRequiredService<PostgresMediaStore>());
        services.AddSingleton<IJobNotificationSource>(sp => sp.GetRequiredService<PostgresMediaStore>()); // after: UseMediaStore drops the previous store's source
        return builder;
    }

    /// <summary>Gives one generation type a PostgreSQL store of its own (its dedicated store, with its own data source
    /// and notification listener, which wakes the type's producer), beside the host's default store; see
    /// <c>UseMediaStore(type, …)</c>. The options bind from <c>Stefna:Types:&lt;type&gt;:Postgres</c> when the host
    /// binds configuration, then <paramref name="configure"/>; validated when the host starts.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="type">The type's canonical name, e.g. <c>custom-prompt</c>.</param>
    /// <param name="configure">Configures the type's <see cref="PostgresStoreOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UsePostgres(this IStefnaBuilder builder, string type, Action<PostgresStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(type);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgresStoreOptions>, PostgresStoreOptionsValidator>());
        builder.Services.TryAddSingleton(TimeProvider.System);
        return builder.UseMediaStore<PostgresStoreOptions>(type, PostgresStoreOptions.ConfigurationKey, configure, (sp, options) => new PostgresMediaStore(
            Options.Options.Create(options),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<PostgresMediaStore>>()));
    }

    /// <summary>Gives one generation type a PostgreSQL store of its own on <paramref name="connectionString"/>.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="type">The type's canonical name.</param>
    /// <param name="connectionString">The Npgsql connection string.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UsePostgres(this IStefnaBuilder builder, string type, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UsePostgres(type, o => o.ConnectionString = connectionString);
    }
}
