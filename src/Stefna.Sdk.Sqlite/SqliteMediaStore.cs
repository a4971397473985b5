using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Relational;
using Stefna.Sdk.Storage;

namespace Stefna.Sdk.Sqlite;

/// <summary>
/// The embedded default <see cref="IMediaStore"/>: one SQLite file, one dedicated table per generation type.
/// Timestamps are stored as UTC ticks (lossless), tags as a JSON array, metadata as a JSON object. The queue is
/// claimed with a single <c>UPDATE … RETURNING</c>, so no two claimers, threads or processes, ever get the same job.
/// </summary>
/// <remarks>
/// Writes of one store instance are serialised in-process (SQLite has a single writer anyway) so concurrent workers
/// queue politely instead of spinning on the file lock; other processes sharing the file are waited for through
/// <c>busy_timeout</c> (<see cref="SqliteStoreOptions.BusyTimeout"/>). Reads run concurrently thanks to WAL mode.
/// The columns, row reading, idempotency, feed paging and argument checks are the relational core shared with the
/// PostgreSQL store (src/Shared/Relational); this class adds SQLite's dialect and connection handling.
/// </remarks>
public sealed partial class SqliteMediaStore : IMediaStore, IDisposable, IRelationalConnection
{
    private const int MaxBusyRetries = 5;

    private static readonly SqliteDialect Dialect = SqliteDialect.Instance;

    private readonly string _connectionString;
    private readonly string _databasePath;
    private readonly int _busyTimeoutMs;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly RelationalJobs _jobs;
    private readonly JobQueueFlow _queue;
    private readonly TableRegistry<RelationalTable> _types = new(Dialect, definition => new RelationalTable(Dialect, definition));
    private int _directoryReady;

    /// <summary>Creates the store. Nothing touches the disk until the first call.</summary>
    /// <param name="options">The options; <see cref="SqliteStoreOptions.DatabasePath"/> is required.</param>
    /// <param name="timeProvider">The clock for leases and update times; the system clock when <see langword="null"/>.</param>
    /// <param name="logger">A logger, optional.</param>
    public SqliteMediaStore(SqliteStoreOptions options, TimeProvider? timeProvider = null, ILogger<SqliteMediaStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var validation = new SqliteStoreOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            throw new ArgumentException(validation.FailureMessage, nameof(options));
        }

        _databasePath = Path.GetFullPath(options.DatabasePath);
        _busyTimeoutMs = (int)Math.Ceiling(options.BusyTimeout.TotalMilliseconds);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = _databasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            ForeignKeys = true,
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(options.BusyTimeout.TotalSeconds)),
        }.ToString();
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _jobs = new RelationalJobs(Dialect, this);
        _queue = new JobQueueFlow((job, maxAttempts) => Log.AttemptsExhausted(_logger, job.Type, job.Id, job.Attempts, maxAttempts));
    }

    /// <summary>The absolute path of the database file.</summary>
    public string DatabasePath => _databasePath;

    /// <inheritdoc />
    public async Task InitializeAsync(IReadOnlyList<GenerationTypeDefinition> types, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(types);
        foreach (var name in types.SelectMany(t => t.Catalog is null ? [t.TableName] : new[] { t.TableName, t.Catalog.TableName }))
        {
            if (name.StartsWith("sqlite_", StringComparison.Ordinal))
            {
                throw new ArgumentException($"SQLite reserves table names starting with 'sqlite_'; rename the table '{name}'.", nameof(types));
            }
        }

        RefuseAnythingButADatabase();
        await WriteAsync("initialize", async connection =>
        {
            // WAL lets readers run beside the single writer; the setting is stored in the file.
            await ExecuteAsync(connection, "PRAGMA journal_mode = WAL;", cancellationToken).ConfigureAwait(false);
            using var transaction = connection.BeginTransaction(deferred: false);
            foreach (var definition in types)
            {
                await CreateTypeTableAsync(connection, transaction, definition, cancellationToken).ConfigureAwait(false);
            }

            await CreateWebhookOutboxAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            transaction.Commit();
            return true;
        }, cancellationToken).ConfigureAwait(false);

        _types.Register(types);

        Log.Initialized(_logger, _databasePath, string.Join(", ", types.Select(t => t.TableName)));
    }

    /// <summary>Releases the pooled connections to the database file.</summary>
    public void Dispose()
    {
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }

    private IEnumerable<RelationalTable> AllTables => _types.All;

    private RelationalTable Table(string type) => _types.Get(type);

    async Task<T> IRelationalConnection.ReadAsync<T>(Func<DbCommand, Task<T>> read, CancellationToken cancellationToken)
    {
        using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        return await read(command).ConfigureAwait(false);
    }

    Task<T> IRelationalConnection.WriteAsync<T>(string operation, Func<DbCommand, Task<T>> write, CancellationToken cancellationToken) =>
        WriteAsync(operation, async connection =>
        {
            using var command = connection.CreateCommand();
            return await write(command).ConfigureAwait(false);
        }, cancellationToken);

    private async Task<T> WriteAsync<T>(string operation, Func<SqliteConnection, Task<T>> write, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
                    return await write(connection).ConfigureAwait(false);
                }
                catch (SqliteException ex) when (IsBusy(ex) && attempt < MaxBusyRetries)
                {
                    // busy_timeout already waited; another process holds the lock unusually long. Try again shortly.
                    Log.BusyRetry(_logger, operation, attempt);
                    await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), _time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private static bool IsBusy(SqliteException exception) =>
        exception.SqliteErrorCode is 5 or 6; // SQLITE_BUSY, SQLITE_LOCKED

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _directoryReady) == 0)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(_databasePath)!);
            Volatile.Write(ref _directoryReady, 1);
        }

        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);

            // Per connection: wait for other writers instead of failing, and fsync less often (safe with WAL).
            await ExecuteAsync(connection, $"PRAGMA busy_timeout = {_busyTimeoutMs.ToString(CultureInfo.InvariantCulture)}; PRAGMA synchronous = NORMAL;", cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken, SqliteTransaction? transaction = null, params (string Name, object Value)[] parameters)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static DateTimeOffset Time(long utcTicks) => SqliteDialect.FromTicks(utcTicks);

    private static string Id(Guid id) => SqliteDialect.IdText(id);
}
