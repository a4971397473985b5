using System.Data.Common;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Relational;
using Stefna.Sdk.Storage;

namespace Stefna.Sdk.Postgres;

/// <summary>
/// The production <see cref="IMediaStore"/>: one table per generation type in PostgreSQL, a queue that any number of
/// worker hosts share (<c>FOR UPDATE SKIP LOCKED</c> claims guarded by leases and attempt numbers), LISTEN/NOTIFY
/// wake-ups with polling as the fallback, and a unified keyset-paged feed across type tables.
/// </summary>
/// <remarks>
/// Leases use the database clock (<c>now()</c>) by default, so hosts with skewed clocks agree on when a lease
/// expires; <see cref="PostgresStoreOptions.UseDatabaseClock"/> switches to the host's <see cref="TimeProvider"/>.
/// Store calls surface Npgsql exceptions (the core treats <see cref="DbException"/> as a retryable storage failure);
/// after a connection breaks (server restart, terminated backend) the pool is cleared so later calls reconnect.
/// The columns, row reading, idempotency, feed paging and argument checks are the relational core shared with the
/// SQLite store (src/Shared/Relational); this class adds PostgreSQL's dialect and connection handling.
/// </remarks>
public sealed partial class PostgresMediaStore : IMediaStore, IJobNotificationSource, IJobStatusNotificationSource, IAsyncDisposable, IDisposable, IRelationalConnection
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly PostgresStoreOptions _options;
    private readonly RelationalJobs _jobs;
    private readonly JobQueueFlow _queue;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly NotificationListener _listener;
    private readonly TableRegistry<TableSql> _tables;
    private int _disposed;

    /// <summary>Creates the store from options (the DI path: <c>UsePostgres(...)</c>).</summary>
    /// <param name="options">The options; a connection string or a data source is required.</param>
    /// <param name="time">The host clock (used for leases only when <see cref="PostgresStoreOptions.UseDatabaseClock"/> is off).</param>
    /// <param name="logger">The logger.</param>
    public PostgresMediaStore(IOptions<PostgresStoreOptions> options, TimeProvider? time = null, ILogger<PostgresMediaStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        var failures = new PostgresStoreOptionsValidator().Validate(null, _options);
        if (failures.Failed)
        {
            throw new OptionsValidationException(nameof(PostgresStoreOptions), typeof(PostgresStoreOptions), failures.Failures);
        }

        if (_options.DataSource is { } dataSource)
        {
            _dataSource = dataSource;
        }
        else
        {
            _dataSource = CreateDataSource(_options.ConnectionString!);
            _ownsDataSource = true;
        }

        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        Dialect = new PostgresDialect(_options.NotificationChannel);
        _jobs = new RelationalJobs(Dialect, this);
        _tables = new TableRegistry<TableSql>(Dialect, type => new TableSql(Dialect, type, _options.UseDatabaseClock, _options.NotifyStatusChanges));
        _queue = new JobQueueFlow((job, maxAttempts) => Log.AttemptsExhausted(_logger, job.Type, job.Id, job.Attempts, maxAttempts));
        _listener = new NotificationListener(_dataSource, _options.NotificationChannel, _time, _logger, _options.NotifyStatusChanges ? _options.StatusNotificationChannel : null);
    }

    /// <summary>Creates the store over a data source owned by the caller (not disposed by the store).</summary>
    /// <param name="dataSource">The data source.</param>
    /// <param name="time">The host clock.</param>
    /// <param name="logger">The logger.</param>
    public PostgresMediaStore(NpgsqlDataSource dataSource, TimeProvider? time = null, ILogger<PostgresMediaStore>? logger = null)
        : this(Options.Create(new PostgresStoreOptions { DataSource = dataSource ?? throw new ArgumentNullException(nameof(dataSource)) }), time, logger)
    {
    }

    /// <summary>The pool size of a data source the store builds, unless the connection string sets <c>Max Pool Size</c>.</summary>
    internal const int DefaultMaxPoolSize = 32;

    /// <summary>Builds the data source the store owns. Unless the connection string says otherwise:
    /// <list type="bullet">
    /// <item>the store's few statements are prepared automatically after two uses (saves a parse and plan per call on the
    /// hot queue path); set <c>Max Auto Prepare=0</c> where a transaction-pooling proxy (e.g. PgBouncer) cannot keep
    /// prepared statements;</item>
    /// <item>the pool holds at most <see cref="DefaultMaxPoolSize"/> connections: the engine needs one per type for its
    /// claim and renewal statements plus the LISTEN connection, never one per running job, and job writes are short;</item>
    /// <item><c>No Reset On Close</c>: a connection going back to the pool skips Npgsql's session reset (seven
    /// statements sent ahead of the next command). Safe because the store's statements leave no session state behind:
    /// no <c>SET</c>, no temporary tables outlive their transaction, advisory locks are transaction-scoped, and the LISTEN
    /// connection is only closed with the data source itself (docs/operations.md).</item>
    /// </list></summary>
    /// <param name="connectionString">The connection string.</param>
    /// <returns>The data source.</returns>
    internal static NpgsqlDataSource CreateDataSource(string connectionString)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        var settings = builder.ConnectionStringBuilder;
        if (!Mentions(connectionString, "Auto Prepare", "AutoPrepare"))
        {
            settings.MaxAutoPrepare = 64;
            settings.AutoPrepareMinUsages = 2;
        }

        if (!Mentions(connectionString, "Max Pool Size", "MaxPoolSize", "Maximum Pool Size"))
        {
            settings.MaxPoolSize = DefaultMaxPoolSize;
        }

        if (!Mentions(connectionString, "No Reset On Close", "NoResetOnClose"))
        {
            settings.NoResetOnClose = true;
        }

        return builder.Build();

        static bool Mentions(string connectionString, params string[] keys) =>
            keys.Any(k => connectionString.Contains(k, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The data source the store uses.</summary>
    public NpgsqlDataSource DataSource => _dataSource;

    /// <inheritdoc />
    public async Task InitializeAsync(IReadOnlyList<GenerationTypeDefinition> types, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(types);
        if (_options.MigrateOnInitialize)
        {
            await MigrateAsync(types, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await Guard(PostgresSchema.VerifyAsync(_dataSource, types, cancellationToken)).ConfigureAwait(false);
            Register(types);
        }
    }

    /// <summary>Applies the schema migrations for the given types: the shared objects, each type's table, indexes,
    /// extra columns and catalogue. Idempotent, and serialised across hosts with a PostgreSQL advisory lock, so it is
    /// safe to run from every host at start-up or as a separate deployment step.</summary>
    /// <param name="types">The generation types whose tables to create or upgrade.</param>
    /// <param name="cancellationToken">Cancels the migration (its transaction rolls back).</param>
    /// <returns>How many versioned migrations this call applied (0 when the schema was already current).</returns>
    public async Task<int> MigrateAsync(IReadOnlyList<GenerationTypeDefinition> types, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(types);
        var applied = await Guard(PostgresSchema.MigrateAsync(_dataSource, types, _logger, cancellationToken)).ConfigureAwait(false);
        Register(types);
        return applied;
    }

    /// <summary>Shows where the store points, never its password.</summary>
    /// <returns>A description.</returns>
    public override string ToString()
    {
        var builder = new NpgsqlConnectionStringBuilder(_dataSource.ConnectionString);
        return $"PostgresMediaStore(Host={builder.Host}; Port={builder.Port}; Database={builder.Database}; Channel={_options.NotificationChannel})";
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _listener.DisposeAsync().ConfigureAwait(false);
        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private PostgresDialect Dialect { get; }

    private IEnumerable<RelationalTable> AllTables => _tables.All;

    private void Register(IReadOnlyList<GenerationTypeDefinition> types) => _tables.Register(types);

    private TableSql Table(string type) => _tables.Get(type);

    async Task<T> IRelationalConnection.ReadAsync<T>(Func<DbCommand, Task<T>> read, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand();
        return await Guard(() => read(command)).ConfigureAwait(false);
    }

    Task<T> IRelationalConnection.WriteAsync<T>(string operation, Func<DbCommand, Task<T>> write, CancellationToken cancellationToken) =>
        ((IRelationalConnection)this).ReadAsync(write, cancellationToken);

    private Task Guard(Task task) => Guard(async () =>
    {
        await task.ConfigureAwait(false);
        return true;
    });

    private Task<T> Guard<T>(Task<T> task) => Guard(() => task);

    private Task Guard(Func<Task> action) => Guard(async () =>
    {
        await action().ConfigureAwait(false);
        return true;
    });

    // Lets Npgsql exceptions through, but first drops pooled connections that a server restart or a terminated
    // backend has broken, so one failure does not become one failure per idle pooled connection.
    private async Task<T> Guard<T>(Func<Task<T>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (NpgsqlException ex) when (IsConnectionLoss(ex))
        {
            Log.PoolCleared(_logger, (ex as PostgresException)?.SqlState ?? "connection lost");
            _dataSource.Clear();
            throw;
        }
    }

    // Only failures of the connection itself: the server going away (admin/crash shutdown, cannot connect now), the
    // connection-exception class 08, or the socket failing. Not Npgsql's wider IsTransient, which also covers a command
    // timeout (inner TimeoutException): a slow statement says nothing about the other pooled connections, and Npgsql
    // already discards the one connector a timeout may have broken, so clearing the pool would only throw away healthy
    // connections of a database that is merely busy.
    internal static bool IsConnectionLoss(NpgsqlException exception) => exception switch
    {
        PostgresException pg => pg.SqlState is "57P01" or "57P02" or "57P03" || pg.SqlState.StartsWith("08", StringComparison.Ordinal),
        _ => exception.InnerException is IOException or System.Net.Sockets.SocketException
            || (exception.InnerException is NpgsqlException inner && IsConnectionLoss(inner)),
    };
}
