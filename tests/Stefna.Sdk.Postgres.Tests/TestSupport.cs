using Microsoft.Extensions.Logging;
using Npgsql;
using Stefna.Sdk.Generators;
using Stefna.TestUtils;

namespace Stefna.Sdk.Postgres.Tests;

internal static class TestTypes
{
    /// <summary>A type with its own fresh table, so tests sharing a database never see each other's rows.</summary>
    public static GenerationTypeDefinition Unique(string prefix = "t", IReadOnlyList<string>? extraColumns = null, CatalogDefinition? catalog = null)
    {
        var suffix = Guid.NewGuid().ToString("N")[..10];
        return new GenerationTypeDefinition($"{prefix}-{suffix}", $"{prefix}_{suffix}_media", $"Test {suffix}")
        {
            RequiresSourceImage = false,
            ExtraColumns = extraColumns ?? [],
            Catalog = catalog,
        };
    }

    public static NewGenerationJob Job(GenerationTypeDefinition type, string user = "user-1", DateTimeOffset? createdAt = null, string? idempotencyKey = null, IReadOnlyList<string>? tags = null, string? preset = null) => new()
    {
        Id = Guid.CreateVersion7(),
        Type = type.Name,
        UserId = user,
        Prompt = "a prompt",
        Preset = preset,
        Tags = tags ?? ["alpha"],
        Meta = new Dictionary<string, string> { ["k"] = "v" },
        IdempotencyKey = idempotencyKey,
        CreatedAt = createdAt ?? DateTimeOffset.UtcNow,
    };

    public static Task<T> ScalarAsync<T>(string connectionString, string sql, params (string Name, object Value)[] parameters) =>
        PostgresQueries.ScalarAsync<T>(connectionString, sql, parameters);

    public static Task ExecuteAsync(string connectionString, string sql) => PostgresQueries.ExecuteAsync(connectionString, sql);
}

/// <summary>Collects formatted log lines (to check that secrets never reach logs).</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    public List<string> Lines { get; } = [];

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (owner.Lines)
            {
                owner.Lines.Add(formatter(state, exception) + " " + exception);
            }
        }
    }
}
