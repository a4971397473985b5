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

    /// <summary>Stores jobs in PostgreSQL, configured by <see cref="PostgresStoreOptions"/> (validated at start-up).
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
        services.AddOptions<PostgresStoreOptions>().Configure(configure).ValidateOnStart();
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
}
