using Microsoft.Extensions.Options;
using Stefna.Sdk.Configuration;

namespace Stefna.Sdk.Sqlite;

/// <summary>Options of <see cref="SqliteMediaStore"/>. Validated at start-up.</summary>
public sealed class SqliteStoreOptions
{
    /// <summary>The key of these options under the Stefna configuration section: <c>Sqlite</c>.</summary>
    public const string ConfigurationKey = "Sqlite";

    /// <summary>The database file. Required. Its folder is created when missing.</summary>
    public string DatabasePath { get; set; } = string.Empty;

    /// <summary>How long a write waits for another connection (or process) holding the database's write lock before
    /// it fails with "database is locked". Default 30 s.</summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Checks <see cref="SqliteStoreOptions"/> at start-up.</summary>
internal sealed class SqliteStoreOptionsValidator(StefnaConfigurationKeys keys) : IValidateOptions<SqliteStoreOptions>
{
    public SqliteStoreOptionsValidator()
        : this(StefnaConfigurationKeys.Unbound)
    {
    }

    public ValidateOptionsResult Validate(string? name, SqliteStoreOptions options)
    {
        var failures = new List<string>();
        string K(string member) => keys.KeyOf<SqliteStoreOptions>(name, member);
        if (string.IsNullOrWhiteSpace(options.DatabasePath))
        {
            failures.Add($"{K(nameof(options.DatabasePath))} is required: the database file (or pass it to UseSqlite(...)).");
        }
        else if (options.DatabasePath.Contains('\0', StringComparison.Ordinal))
        {
            failures.Add($"{K(nameof(options.DatabasePath))} contains a NUL character.");
        }

        if (options.BusyTimeout < TimeSpan.FromMilliseconds(1) || options.BusyTimeout > TimeSpan.FromMinutes(10))
        {
            failures.Add($"{K(nameof(options.BusyTimeout))} must be between 1 ms and 10 minutes.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
