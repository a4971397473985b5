using Microsoft.Extensions.Options;

namespace Stefna.Sdk.Sqlite;

/// <summary>Options of <see cref="SqliteMediaStore"/>. Validated at start-up.</summary>
public sealed class SqliteStoreOptions
{
    /// <summary>The database file. Required. Its folder is created when missing.</summary>
    public string DatabasePath { get; set; } = string.Empty;

    /// <summary>How long a write waits for another connection (or process) holding the database's write lock before
    /// it fails with "database is locked". Default 30 s.</summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Checks <see cref="SqliteStoreOptions"/> at start-up.</summary>
internal sealed class SqliteStoreOptionsValidator : IValidateOptions<SqliteStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, SqliteStoreOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DatabasePath))
        {
            failures.Add("SqliteStoreOptions.DatabasePath is required: pass the database file to UseSqlite(...).");
        }
        else if (options.DatabasePath.Contains('\0', StringComparison.Ordinal))
        {
            failures.Add("SqliteStoreOptions.DatabasePath contains a NUL character.");
        }

        if (options.BusyTimeout < TimeSpan.FromMilliseconds(1) || options.BusyTimeout > TimeSpan.FromMinutes(10))
        {
            failures.Add("SqliteStoreOptions.BusyTimeout must be between 1 ms and 10 minutes.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
