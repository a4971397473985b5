using Microsoft.Extensions.Logging;

namespace Stefna.Sdk.Postgres;

internal static partial class Log
{
    [LoggerMessage(100, LogLevel.Information, "Applied schema migration {Scope} v{Version} ({Name}) to database {Database}")]
    public static partial void MigrationApplied(ILogger logger, string scope, int version, string name, string? database);

    [LoggerMessage(101, LogLevel.Information, "PostgreSQL schema ready in database {Database} for tables {Tables} ({Applied} migration(s) applied, {ElapsedMs} ms)")]
    public static partial void SchemaReady(ILogger logger, string? database, string tables, int applied, long elapsedMs);

    [LoggerMessage(102, LogLevel.Debug, "Listening for job notifications on channel {Channel}")]
    public static partial void Listening(ILogger logger, string channel);

    [LoggerMessage(103, LogLevel.Warning, "The job notification connection failed; reconnecting in {Delay} (workers poll meanwhile)")]
    public static partial void ListenerFailed(ILogger logger, Exception exception, TimeSpan delay);

    [LoggerMessage(104, LogLevel.Warning, "A PostgreSQL connection broke ({SqlState}); cleared the connection pool so later calls open fresh connections")]
    public static partial void PoolCleared(ILogger logger, string sqlState);

    [LoggerMessage(105, LogLevel.Warning, "Failed {Type} job {JobId}: its lease expired on attempt {Attempts} of {MaxAttempts} (MaxAttempts); its worker stopped every time")]
    public static partial void AttemptsExhausted(ILogger logger, string type, Guid jobId, int attempts, int maxAttempts);
}
