using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Npgsql;
using Stefna.Sdk.Configuration;

namespace Stefna.Sdk.Postgres;

/// <summary>Options of <see cref="PostgresMediaStore"/>. Validated at start-up.</summary>
public sealed partial class PostgresStoreOptions
{
    /// <summary>The key of these options under the Stefna configuration section: <c>Postgres</c>.</summary>
    public const string ConfigurationKey = "Postgres";

    /// <summary>The Npgsql connection string. Required unless <see cref="DataSource"/> is set. Never logged, and
    /// <see cref="ToString"/> shows it with its password and SSL key password masked.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>A data source owned by the application; takes precedence over <see cref="ConnectionString"/> and is
    /// not disposed by the store.</summary>
    public NpgsqlDataSource? DataSource { get; set; }

    /// <summary>The LISTEN/NOTIFY channel that tells workers in every host that work arrived. Stores sharing a
    /// database share a channel unless given their own. Default <c>stefna_jobs</c>.</summary>
    public string NotificationChannel { get; set; } = "stefna_jobs";

    /// <summary>The LISTEN/NOTIFY channel that tells every host a job's status changed (payload <c>type:id</c>), so
    /// <c>WatchAsync</c> follows jobs run anywhere without polling. Sent by the status-changing statement itself, so it
    /// goes out exactly when the change commits. Listened to on the same connection as <see cref="NotificationChannel"/>.
    /// Default <c>stefna_status</c>; must differ from <see cref="NotificationChannel"/>.</summary>
    public string StatusNotificationChannel { get; set; } = "stefna_status";

    /// <summary>Whether status changes are notified on <see cref="StatusNotificationChannel"/> (and listened to). Off, the
    /// store sends no status notification (one NOTIFY per claimed, finished, retried or canceled job less) and watchers
    /// poll every <c>StefnaOptions.WatchPollInterval</c>. Default <see langword="true"/>.</summary>
    public bool NotifyStatusChanges { get; set; } = true;

    /// <summary>Whether leases, back-offs and <c>updated_at</c> use the database clock (<c>now()</c>), so hosts whose
    /// clocks disagree still agree on when a lease expires. Default <see langword="true"/>; set
    /// <see langword="false"/> to use the host's <see cref="TimeProvider"/> (e.g. a fake clock in tests).</summary>
    public bool UseDatabaseClock { get; set; } = true;

    /// <summary>Whether <see cref="PostgresMediaStore.InitializeAsync"/> applies schema migrations. Default
    /// <see langword="true"/>; turn off where migrations run as a separate deployment step
    /// (<see cref="PostgresMediaStore.MigrateAsync"/>), and the store then only checks that the tables exist.</summary>
    public bool MigrateOnInitialize { get; set; } = true;

    /// <inheritdoc />
    public override string ToString() =>
        $"PostgresStoreOptions {{ ConnectionString = {Redact(ConnectionString) ?? "(none)"}, DataSource = {(DataSource is null ? "(none)" : "set")}, NotificationChannel = {NotificationChannel}, StatusNotificationChannel = {StatusNotificationChannel}, NotifyStatusChanges = {NotifyStatusChanges}, UseDatabaseClock = {UseDatabaseClock}, MigrateOnInitialize = {MigrateOnInitialize} }}";

    /// <summary>A connection string with its secrets (Password, SslPassword, in any spelling Npgsql accepts) masked, safe to show.</summary>
    /// <param name="connectionString">The connection string.</param>
    /// <returns>The connection string with its secrets masked, or a placeholder when it cannot be parsed.</returns>
    internal static string? Redact(string? connectionString)
    {
        if (connectionString is null)
        {
            return null;
        }

        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            // Npgsql's two secrets. Its PasswordPropertyText attribute marks only Password, not SslPassword, so the
            // builder's own notion of a secret is not enough; file paths such as SslKey and Passfile stay visible.
            if (builder.Password is not null)
            {
                builder.Password = "***";
            }

            if (builder.SslPassword is not null)
            {
                builder.SslPassword = "***";
            }

            return builder.ConnectionString;
        }
        catch (ArgumentException)
        {
            return "(unparseable connection string)";
        }
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    internal static partial Regex ChannelPattern();
}

/// <summary>Checks <see cref="PostgresStoreOptions"/> at start-up. Messages never include the connection string.</summary>
internal sealed class PostgresStoreOptionsValidator(StefnaConfigurationKeys keys) : IValidateOptions<PostgresStoreOptions>
{
    public PostgresStoreOptionsValidator()
        : this(StefnaConfigurationKeys.Unbound)
    {
    }

    public ValidateOptionsResult Validate(string? name, PostgresStoreOptions options)
    {
        var failures = new List<string>();
        string K(string member) => keys.KeyOf<PostgresStoreOptions>(name, member);
        if (options.DataSource is null)
        {
            if (string.IsNullOrWhiteSpace(options.ConnectionString))
            {
                failures.Add($"A PostgreSQL connection is required: set {K(nameof(options.ConnectionString))}, pass a connection string or NpgsqlDataSource to UsePostgres(...), or register an NpgsqlDataSource in the container (AddNpgsqlDataSource) and call UsePostgres().");
            }
            else
            {
                try
                {
                    var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
                    if (string.IsNullOrWhiteSpace(builder.Host))
                    {
                        failures.Add($"{K(nameof(options.ConnectionString))} names no Host.");
                    }
                }
                catch (ArgumentException ex)
                {
                    // The parser's message names the bad keyword, not the value.
                    failures.Add($"{K(nameof(options.ConnectionString))} is not a valid PostgreSQL connection string: {ex.Message}");
                }
            }
        }

        if (!PostgresStoreOptions.ChannelPattern().IsMatch(options.NotificationChannel ?? string.Empty))
        {
            failures.Add($"{K(nameof(options.NotificationChannel))} must match {PostgresStoreOptions.ChannelPattern()}.");
        }

        if (!PostgresStoreOptions.ChannelPattern().IsMatch(options.StatusNotificationChannel ?? string.Empty))
        {
            failures.Add($"{K(nameof(options.StatusNotificationChannel))} must match {PostgresStoreOptions.ChannelPattern()}.");
        }
        else if (options.StatusNotificationChannel == options.NotificationChannel)
        {
            failures.Add($"{K(nameof(options.StatusNotificationChannel))} must differ from {K(nameof(options.NotificationChannel))}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
