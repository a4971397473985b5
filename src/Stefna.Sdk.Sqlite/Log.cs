using Microsoft.Extensions.Logging;

namespace Stefna.Sdk.Sqlite;

internal static partial class Log
{
    [LoggerMessage(101, LogLevel.Information, "SQLite store ready at {Path} with tables {Tables}")]
    public static partial void Initialized(ILogger logger, string path, string tables);

    [LoggerMessage(102, LogLevel.Information, "SQLite table {Table}: added column {Column}")]
    public static partial void ColumnAdded(ILogger logger, string table, string column);

    [LoggerMessage(103, LogLevel.Debug, "SQLite database busy during {Operation}; retry {Attempt}")]
    public static partial void BusyRetry(ILogger logger, string operation, int attempt);

    [LoggerMessage(104, LogLevel.Warning, "Failed {Type} job {JobId}: its lease expired on attempt {Attempts} of {MaxAttempts} (MaxAttempts); its worker stopped every time")]
    public static partial void AttemptsExhausted(ILogger logger, string type, Guid jobId, int attempts, int maxAttempts);
}
