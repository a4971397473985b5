using System.Buffers;
using System.Collections.Frozen;
using System.Data.Common;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Stefna.Sdk.Generators;
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
/// </remarks>
public sealed partial class PostgresMediaStore : IMediaStore, IJobParking, IJobNotificationSource, IJobStatusNotificationSource, IAsyncDisposable, IDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly PostgresStoreOptions _options;

    // Jobs ClaimAsync failed for good, until the worker takes them (TakeExhaustedJobs); capped for callers that never take.
    private const int MaxExhaustedKept = 10_000;
    private readonly System.Collections.Concurrent.ConcurrentQueue<GenerationJob> _exhausted = new();
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly NotificationListener _listener;
    private FrozenDictionary<string, TableSql> _tables = FrozenDictionary<string, TableSql>.Empty;
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

    /// <inheritdoc />
    public async Task<InsertResult> InsertAsync(NewGenerationJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var sql = Table(job.Type);
        MediaStoreChecks.CheckInsert(sql.Definition, job);
        await using (var command = _dataSource.CreateCommand(sql.Insert))
        {
            var p = command.Parameters;
            p.Add(new NpgsqlParameter<Guid>("id", job.Id));
            p.Add(new NpgsqlParameter<string>("user_id", job.UserId));
            p.Add(Text("prompt", job.Prompt));
            p.Add(Text("preset", job.Preset));
            p.Add(Text("source_image_url", job.SourceImageUrl));
            p.Add(new NpgsqlParameter<string[]>("tags", [.. job.Tags]));
            p.Add(Json("meta", job.Meta));
            p.Add(Text("idempotency_key", job.IdempotencyKey));
            p.Add(new NpgsqlParameter<DateTimeOffset>("created_at", job.CreatedAt.ToUniversalTime()));
            p.Add(new NpgsqlParameter<string>("channel", _options.NotificationChannel));
            p.Add(new NpgsqlParameter<string>("type", sql.Definition.Name));
            var extras = sql.Definition.ExtraColumns;
            for (var i = 0; i < extras.Count; i++)
            {
                p.Add(Text("x" + i, job.Columns.TryGetValue(extras[i], out var value) ? value : null));
            }

            var inserted = await QuerySingleAsync(command, sql, cancellationToken).ConfigureAwait(false);
            if (inserted is not null)
            {
                return new InsertResult(inserted, Created: true);
            }
        }

        // The user already has a job with this idempotency key (ON CONFLICT waited for its insert to commit).
        var existing = await FindByIdempotencyKeyAsync(job.Type, job.UserId, job.IdempotencyKey!, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"The {job.Type} job with idempotency key '{job.IdempotencyKey}' conflicted but could not be read back.");
        return new InsertResult(existing, Created: false);
    }

    /// <inheritdoc />
    public async Task<GenerationJob?> FindByIdempotencyKeyAsync(string type, string userId, string idempotencyKey, CancellationToken cancellationToken)
    {
        var sql = Table(type);
        await using var command = _dataSource.CreateCommand(sql.FindByIdempotencyKey);
        command.Parameters.Add(new NpgsqlParameter<string>("user_id", userId));
        command.Parameters.Add(new NpgsqlParameter<string>("idempotency_key", idempotencyKey));
        return await QuerySingleAsync(command, sql, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<GenerationJob?> GetAsync(string type, Guid id, string userId, CancellationToken cancellationToken)
    {
        var sql = Table(type);
        await using var command = _dataSource.CreateCommand(sql.Get);
        command.Parameters.Add(new NpgsqlParameter<Guid>("id", id));
        command.Parameters.Add(new NpgsqlParameter<string>("user_id", userId));
        return await QuerySingleAsync(command, sql, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<JobLease>> ClaimAsync(string type, int limit, TimeSpan leaseDuration, int maxAttempts, int? maxOutstanding, CancellationToken cancellationToken)
    {
        if (maxOutstanding is not { } outstanding)
        {
            // In a transaction: a job the claim fails for its exhausted attempts writes its webhooks with that change.
            await using var plainConnection = await Guard(_dataSource.OpenConnectionAsync(cancellationToken).AsTask()).ConfigureAwait(false);
            await using var plainTransaction = await plainConnection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            var claimed = await ClaimAsync(type, limit, leaseDuration, maxAttempts, (plainConnection, plainTransaction, null), cancellationToken).ConfigureAwait(false);
            await Guard(plainTransaction.CommitAsync(cancellationToken)).ConfigureAwait(false);
            return claimed;
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(outstanding, 1, nameof(maxOutstanding));
        var sql = Table(type);

        // The count and the claim under the type's advisory lock, in one transaction: claims of other hosts wait, and
        // the claim's statement (a new snapshot) sees every claim committed before the lock was granted.
        await using var connection = await Guard(_dataSource.OpenConnectionAsync(cancellationToken).AsTask()).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", connection, transaction))
        {
            lockCommand.Parameters.Add(new NpgsqlParameter<long>("key", sql.ClaimLockKey));
            await Guard(lockCommand.ExecuteNonQueryAsync(cancellationToken)).ConfigureAwait(false);
        }

        var leases = await ClaimAsync(type, limit, leaseDuration, maxAttempts, (connection, transaction, outstanding), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return leases;
    }

    private async Task<IReadOnlyList<JobLease>> ClaimAsync(string type, int limit, TimeSpan leaseDuration, int maxAttempts, (NpgsqlConnection Connection, NpgsqlTransaction Transaction, int? MaxOutstanding) within, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        var sql = Table(type);
        var exhausted = GenerationError.LeaseExpired(maxAttempts);
        List<JobLease>? leases = null;
        while (true)
        {
            var wanted = limit - (leases?.Count ?? 0);
            var failed = 0;
            var rows = 0;
            var exhaustedJobs = new List<GenerationJob>();
            await using (var command = new NpgsqlCommand(within.MaxOutstanding is null ? sql.Claim : sql.ClaimLimited, within.Connection, within.Transaction))
            {
                command.Parameters.Add(new NpgsqlParameter<int>("limit", wanted));
                if (within.MaxOutstanding is { } most)
                {
                    command.Parameters.Add(new NpgsqlParameter<int>("max_outstanding", most));
                }

                command.Parameters.Add(new NpgsqlParameter<TimeSpan>("lease", leaseDuration));
                command.Parameters.Add(new NpgsqlParameter<int>("max_attempts", maxAttempts));
                command.Parameters.Add(Text("error_code", exhausted.Code));
                command.Parameters.Add(Text("error_message", exhausted.Message));
                AddStatusParameters(command, sql);
                AddNow(command);
                await Guard(async () =>
                {
                    await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        rows++;
                        var job = Read(reader, sql.Definition);
                        if (job.Status == GenerationStatus.Processing)
                        {
                            (leases ??= new List<JobLease>(wanted)).Add(new JobLease(job));
                        }
                        else
                        {
                            // A candidate had used its last attempt and was failed instead of claimed.
                            failed++;
                            exhaustedJobs.Add(job);
                            Log.AttemptsExhausted(_logger, type, job.Id, job.Attempts, maxAttempts);
                    if (_exhausted.Count < MaxExhaustedKept)
                    {
                        _exhausted.Enqueue(job);
                    }
                        }
                    }
                }).ConfigureAwait(false);
            }

            if (exhaustedJobs.Count > 0)
            {
                await AppendWebhooksAsync(within.Connection, within.Transaction, exhaustedJobs.Select(j => j with { UpdatedAt = _time.GetUtcNow() }), cancellationToken).ConfigureAwait(false);
            }

            // Look again only for the places exhausted rows took, and only while the queue filled the request.
            if (failed == 0 || rows < wanted)
            {
                break;
            }
        }

        if (leases is null)
        {
            return [];
        }

        // RETURNING has no order; hand the oldest job out first.
        leases.Sort(static (a, b) => a.Job.CreatedAt != b.Job.CreatedAt ? a.Job.CreatedAt.CompareTo(b.Job.CreatedAt) : a.Id.CompareTo(b.Id));
        return leases;
    }

    /// <inheritdoc />
    public IReadOnlyList<GenerationJob> TakeExhaustedJobs()
    {
        List<GenerationJob>? taken = null;
        while (_exhausted.TryDequeue(out var job))
        {
            (taken ??= []).Add(job);
        }

        return taken ?? [];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<JobLease>> RenewLeasesAsync(string type, IReadOnlyCollection<JobLease> leases, TimeSpan leaseDuration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(leases);
        if (leases.Count == 0)
        {
            return [];
        }

        var sql = Table(type);
        var ids = new Guid[leases.Count];
        var attempts = new int[leases.Count];
        var i = 0;
        foreach (var lease in leases)
        {
            ids[i] = lease.Id;
            attempts[i++] = lease.Attempt;
        }

        await using var command = _dataSource.CreateCommand(sql.RenewMany);
        command.Parameters.Add(new NpgsqlParameter<TimeSpan>("lease", leaseDuration));
        return await LeaseGuardedBatchAsync(command, leases, ids, attempts, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<bool> SetProviderJobIdAsync(JobLease lease, string providerJobId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentException.ThrowIfNullOrEmpty(providerJobId);
        return GuardedWriteAsync(Table(lease.Type).SetProviderJobId, lease, cancellationToken, new NpgsqlParameter<string>("provider_job_id", providerJobId));
    }

    /// <inheritdoc />
    public Task<bool> ParkAsync(JobLease lease, string providerJobId, DateTimeOffset nextCheckAt, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentException.ThrowIfNullOrEmpty(providerJobId);
        var delay = nextCheckAt - _time.GetUtcNow();
        return GuardedWriteAsync(Table(lease.Type).Park, lease, cancellationToken,
            new NpgsqlParameter<string>("provider_job_id", providerJobId),
            new NpgsqlParameter<TimeSpan>("delay", delay < TimeSpan.Zero ? TimeSpan.Zero : delay),
            new NpgsqlParameter<DateTimeOffset>("next_check_at", nextCheckAt.ToUniversalTime()),
            new NpgsqlParameter<DateTimeOffset>("deadline", deadline.ToUniversalTime()));
    }

    /// <inheritdoc />
    public async Task<ParkedClaim> ClaimParkedAsync(string type, int limit, TimeSpan leaseDuration, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var sql = Table(type);
        await using var command = _dataSource.CreateCommand(sql.ClaimParked);
        command.Parameters.Add(new NpgsqlParameter<int>("limit", limit));
        command.Parameters.Add(new NpgsqlParameter<TimeSpan>("lease", leaseDuration));
        AddNow(command);
        return await Guard(async () =>
        {
            List<JobLease>? leases = null;
            TimeSpan? nextIn = null;
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                nextIn = reader.IsDBNull(0) ? null : reader.GetFieldValue<TimeSpan>(0);
                if (!reader.IsDBNull(1))
                {
                    (leases ??= new List<JobLease>(limit)).Add(new JobLease(Read(reader, sql.Definition, offset: 1)));
                }
            }

            // The distance, not the database's time: the caller waits on its own clock.
            return new ParkedClaim(leases ?? (IReadOnlyList<JobLease>)[], nextIn is { } wait ? _time.GetUtcNow() + wait : null);
        }).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> CompleteAsync(JobLease lease, JobResult result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(result);
        return (await CompleteManyAsync(lease.Type, [new JobCompletion(lease, result)], cancellationToken).ConfigureAwait(false)).Count == 0;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<JobLease>> CompleteManyAsync(string type, IReadOnlyList<JobCompletion> completions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(completions);
        if (completions.Count == 0)
        {
            return [];
        }

        var sql = Table(type);
        var ids = new Guid[completions.Count];
        var attempts = new int[completions.Count];
        var urls = new string[completions.Count];
        var metas = new string[completions.Count];
        for (var i = 0; i < completions.Count; i++)
        {
            var (lease, result) = completions[i];
            ArgumentNullException.ThrowIfNull(lease);
            ArgumentNullException.ThrowIfNull(result);
            ids[i] = lease.Id;
            attempts[i] = lease.Attempt;
            urls[i] = result.ImageUrl;
            metas[i] = JsonText(result.Meta);
        }

        if (completions.Any(c => MayHaveWebhooks(c.Lease.Job)))
        {
            // The completions and their webhooks in one transaction.
            return await WithWebhooksAsync(async (connection, transaction) =>
            {
                await using var inTransaction = new NpgsqlCommand(sql.CompleteMany, connection, transaction);
                AddStatusParameters(inTransaction, sql);
                inTransaction.Parameters.Add(new NpgsqlParameter<string[]>("image_urls", urls));
                inTransaction.Parameters.Add(new NpgsqlParameter("metas", NpgsqlDbType.Array | NpgsqlDbType.Jsonb) { Value = metas });
                var lost = await LeaseGuardedBatchAsync(inTransaction, completions.Select(c => c.Lease), ids, attempts, cancellationToken).ConfigureAwait(false);
                var at = _time.GetUtcNow();
                return (lost, (IReadOnlyList<GenerationJob>)[.. completions.Where(c => !lost.Contains(c.Lease)).Select(c => c.Lease.Job with { Status = GenerationStatus.Completed, ImageUrl = c.Result.ImageUrl, Error = null, UpdatedAt = at })]);
            }, cancellationToken).ConfigureAwait(false);
        }

        await using var command = _dataSource.CreateCommand(sql.CompleteMany);
        AddStatusParameters(command, sql);
        command.Parameters.Add(new NpgsqlParameter<string[]>("image_urls", urls));
        command.Parameters.Add(new NpgsqlParameter("metas", NpgsqlDbType.Array | NpgsqlDbType.Jsonb) { Value = metas });
        return await LeaseGuardedBatchAsync(command, completions.Select(c => c.Lease), ids, attempts, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<bool> RequeueAsync(JobLease lease, GenerationError error, DateTimeOffset notBefore, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(error);
        var sql = Table(lease.Type);

        // With the database clock, the back-off travels as a delay from the host's now, so clock skew cannot stretch it.
        var delay = notBefore - _time.GetUtcNow();
        return GuardedWriteAsync(sql.Requeue, lease, cancellationToken,
            Text("error_code", error.Code),
            Text("error_message", error.Message),
            new NpgsqlParameter<TimeSpan>("delay", delay < TimeSpan.Zero ? TimeSpan.Zero : delay),
            new NpgsqlParameter<DateTimeOffset>("not_before", notBefore.ToUniversalTime()),
            new NpgsqlParameter<string>("channel", _options.NotificationChannel),
            new NpgsqlParameter<string>("type", sql.Definition.Name));
    }

    /// <inheritdoc />
    public Task<bool> ReleaseAsync(JobLease lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var sql = Table(lease.Type);
        return GuardedWriteAsync(sql.Release, lease, cancellationToken,
            new NpgsqlParameter<string>("channel", _options.NotificationChannel),
            new NpgsqlParameter<string>("type", sql.Definition.Name));
    }

    /// <inheritdoc />
    public Task<bool> FailAsync(JobLease lease, GenerationError error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(error);
        if (MayHaveWebhooks(lease.Job))
        {
            // The failure and its webhooks in one transaction.
            return WithWebhooksAsync(async (connection, transaction) =>
            {
                await using var command = new NpgsqlCommand(Table(lease.Type).Fail, connection, transaction);
                var written = await GuardedWriteAsync(command, lease, cancellationToken, Text("error_code", error.Code), Text("error_message", error.Message)).ConfigureAwait(false);
                return (written, written ? [lease.Job with { Status = GenerationStatus.Failed, Error = error, UpdatedAt = _time.GetUtcNow() }] : (IReadOnlyList<GenerationJob>)[]);
            }, cancellationToken);
        }

        return GuardedWriteAsync(Table(lease.Type).Fail, lease, cancellationToken,
            Text("error_code", error.Code), Text("error_message", error.Message));
    }

    /// <inheritdoc />
    public async Task<GenerationJob?> CancelAsync(string type, Guid id, string userId, CancellationToken cancellationToken)
    {
        var sql = Table(type);

        // In a transaction with its webhooks; the row is locked first, so "was it unfinished" is the cancel's own answer.
        return await WithWebhooksAsync(async (connection, transaction) =>
        {
            GenerationJob? before;
            await using (var read = new NpgsqlCommand(sql.Get + " FOR UPDATE", connection, transaction))
            {
                read.Parameters.Add(new NpgsqlParameter<Guid>("id", id));
                read.Parameters.Add(new NpgsqlParameter<string>("user_id", userId));
                before = await QuerySingleAsync(read, sql, cancellationToken).ConfigureAwait(false);
            }

            await using var command = new NpgsqlCommand(sql.Cancel, connection, transaction);
            AddStatusParameters(command, sql);
            command.Parameters.Add(new NpgsqlParameter<Guid>("id", id));
            command.Parameters.Add(new NpgsqlParameter<string>("user_id", userId));
            AddNow(command);
            var after = await QuerySingleAsync(command, sql, cancellationToken).ConfigureAwait(false);
            var canceled = before?.Status.IsTerminal() == false && after?.Status == GenerationStatus.Canceled;
            return (after, canceled ? [after! with { UpdatedAt = _time.GetUtcNow() }] : (IReadOnlyList<GenerationJob>)[]);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<FeedPage> QueryFeedAsync(FeedQuery query, CancellationToken cancellationToken)
    {
        var cursor = MediaStoreChecks.CheckFeedQuery(query);
        var limit = query.Limit;
        var tables = query.Types is { Count: > 0 } types
            ? types.Distinct(StringComparer.Ordinal).Select(Table).ToArray()
            : [.. _tables.Values.OrderBy(t => t.Definition.Name, StringComparer.Ordinal)];
        if (tables.Length == 0)
        {
            return new FeedPage([], null);
        }

        // Each table contributes at most limit + 1 rows through its own (user_id, created_at desc, id desc) index,
        // then one outer sort merges them; the extra row tells whether a next page exists.
        var filter = new StringBuilder(" WHERE user_id = @user_id");
        if (cursor is not null)
        {
            filter.Append(" AND (created_at, id) < (@cursor_at, @cursor_id)");
        }

        if (query.Tag is not null)
        {
            filter.Append(" AND tags @> ARRAY[@tag]::text[]");
        }

        if (query.Status is not null)
        {
            filter.Append(" AND status = @status");
        }

        filter.Append(" ORDER BY created_at DESC, id DESC LIMIT @take");
        var text = new StringBuilder("SELECT * FROM (");
        await using var command = _dataSource.CreateCommand();
        for (var i = 0; i < tables.Length; i++)
        {
            text.Append(i == 0 ? "(" : " UNION ALL (")
                .Append(string.Format(System.Globalization.CultureInfo.InvariantCulture, tables[i].FeedSelectTemplate, i))
                .Append(filter).Append(')');
            command.Parameters.Add(new NpgsqlParameter<string>("ft_" + i, tables[i].Definition.Name));
            var extras = tables[i].Definition.ExtraColumns;
            for (var c = 0; c < extras.Count; c++)
            {
                command.Parameters.Add(new NpgsqlParameter<string>($"fx_{i}_{c}", extras[c]));
            }
        }

        text.Append(") AS feed ORDER BY created_at DESC, id DESC LIMIT @take");
        command.CommandText = text.ToString();
        command.Parameters.Add(new NpgsqlParameter<string>("user_id", query.UserId));
        command.Parameters.Add(new NpgsqlParameter<int>("take", limit + 1));
        if (cursor is { } c0)
        {
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("cursor_at", c0.CreatedAt));
            command.Parameters.Add(new NpgsqlParameter<Guid>("cursor_id", c0.Id));
        }

        if (query.Tag is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<string>("tag", query.Tag));
        }

        if (query.Status is { } status)
        {
            command.Parameters.Add(new NpgsqlParameter<string>("status", status.ToName()));
        }

        var items = new List<GenerationJob>(limit + 1);
        await Guard(async () =>
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                items.Add(ReadFeedRow(reader));
            }
        }).ConfigureAwait(false);

        string? next = null;
        if (items.Count > limit)
        {
            items.RemoveAt(items.Count - 1);
            var last = items[^1];
            next = new FeedCursor(last.CreatedAt, last.Id).Encode();
        }

        return new FeedPage(items, next);
    }

    /// <inheritdoc />
    public async Task<long> CountUnfinishedAsync(string type, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(Table(type).CountUnfinished);
        return await Guard(async () => (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<QueueSnapshot> GetQueueSnapshotAsync(string type, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"SELECT count(*), min(created_at) FROM {PostgresSchema.Identifier(Table(type).Definition.TableName)} WHERE status = 'queued'");
        return await Guard(async () =>
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return new QueueSnapshot(reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1));
        }).ConfigureAwait(false);
    }

    /// <summary>The shared LISTEN connection's state (for tests).</summary>
    internal NotificationListener Listener => _listener;

    /// <inheritdoc />
    public bool IsListeningForStatusChanges => _options.NotifyStatusChanges && _listener.IsListening;

    /// <inheritdoc />
    public IDisposable SubscribeToStatusChanges(IJobStatusSubscriber subscriber)
    {
        ArgumentNullException.ThrowIfNull(subscriber);

        // Not notifying: nothing to listen to; watchers poll (IsListeningForStatusChanges stays false).
        return _options.NotifyStatusChanges ? _listener.Subscribe(subscriber) : NoSubscription.Instance;
    }

    private sealed class NoSubscription : IDisposable
    {
        public static readonly NoSubscription Instance = new();

        public void Dispose()
        {
        }
    }

    /// <inheritdoc />
    public Task<bool> WaitForWorkAsync(IReadOnlyCollection<string> types, TimeSpan timeout, CancellationToken cancellationToken) =>
        _listener.WaitAsync(types, timeout, cancellationToken);

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

    private void Register(IReadOnlyList<GenerationTypeDefinition> types)
    {
        // Copy-on-write: readers never lock; a later InitializeAsync may add types (a new table on a live database).
        lock (_listener)
        {
            var tables = new Dictionary<string, TableSql>(_tables, StringComparer.Ordinal);
            foreach (var type in types)
            {
                tables[type.Name] = new TableSql(type, _options.UseDatabaseClock, _options.NotifyStatusChanges);
            }

            _tables = tables.ToFrozenDictionary(StringComparer.Ordinal);
        }
    }

    private TableSql Table(string type) =>
        _tables.TryGetValue(type, out var sql)
            ? sql
            : throw new InvalidOperationException($"The generation type '{type}' has no table in this store; call InitializeAsync with its definition first.");

    // Runs a statement over many leases (@ids, @attempts) whose RETURNING lists the ids it wrote; the rest were lost.
    private async Task<IReadOnlyList<JobLease>> LeaseGuardedBatchAsync(NpgsqlCommand command, IEnumerable<JobLease> leases, Guid[] ids, int[] attempts, CancellationToken cancellationToken)
    {
        command.Parameters.Add(new NpgsqlParameter<Guid[]>("ids", ids));
        command.Parameters.Add(new NpgsqlParameter<int[]>("attempts", attempts));
        AddNow(command);
        var written = new HashSet<Guid>();
        await Guard(async () =>
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                written.Add(reader.GetGuid(0));
            }
        }).ConfigureAwait(false);
        return written.Count == ids.Length ? [] : [.. leases.Where(l => !written.Contains(l.Id))];
    }

    // The parameters of a statement that notifies status changes (see TableSql); none for one that does not.
    private void AddStatusParameters(NpgsqlCommand command, TableSql sql)
    {
        if (command.CommandText.Contains("@status_channel", StringComparison.Ordinal))
        {
            command.Parameters.Add(new NpgsqlParameter<string>("status_channel", _options.StatusNotificationChannel));
            command.Parameters.Add(new NpgsqlParameter<string>("status_type", sql.Definition.Name));
        }
    }

    private async Task<bool> GuardedWriteAsync(string text, JobLease lease, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        await using var command = _dataSource.CreateCommand(text);
        return await GuardedWriteAsync(command, lease, cancellationToken, parameters).ConfigureAwait(false);
    }

    private async Task<bool> GuardedWriteAsync(NpgsqlCommand command, JobLease lease, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        AddStatusParameters(command, Table(lease.Type));
        command.Parameters.Add(new NpgsqlParameter<Guid>("id", lease.Id));
        command.Parameters.Add(new NpgsqlParameter<int>("attempt", lease.Attempt));
        AddNow(command);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(parameter);
        }

        return await Guard(async () => await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1).ConfigureAwait(false);
    }

    private void AddNow(NpgsqlCommand command)
    {
        if (!_options.UseDatabaseClock)
        {
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", _time.GetUtcNow().ToUniversalTime()));
        }
    }

    private Task<GenerationJob?> QuerySingleAsync(NpgsqlCommand command, TableSql sql, CancellationToken cancellationToken) =>
        Guard(async () =>
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? Read(reader, sql.Definition) : null;
        });

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

    private static GenerationJob Read(NpgsqlDataReader reader, GenerationTypeDefinition definition, int offset = 0)
    {
        var extras = definition.ExtraColumns;
        Dictionary<string, string?>? columns = null;
        if (extras.Count > 0)
        {
            columns = new Dictionary<string, string?>(extras.Count, StringComparer.Ordinal);
            for (var i = 0; i < extras.Count; i++)
            {
                var ordinal = offset + TableSql.CommonColumnCount + i;
                columns[extras[i]] = reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
            }
        }

        return ReadCommon(reader, offset, definition.Name, columns);
    }

    private static GenerationJob ReadFeedRow(NpgsqlDataReader reader)
    {
        var type = reader.GetString(0);
        Dictionary<string, string?>? columns = null;
        var extraOrdinal = 1 + TableSql.CommonColumnCount;
        if (!reader.IsDBNull(extraOrdinal))
        {
            columns = new Dictionary<string, string?>(StringComparer.Ordinal);
            using var document = JsonDocument.Parse(reader.GetString(extraOrdinal));
            foreach (var property in document.RootElement.EnumerateObject())
            {
                columns[property.Name] = property.Value.ValueKind == JsonValueKind.Null ? null : property.Value.GetString();
            }
        }

        return ReadCommon(reader, 1, type, columns);
    }

    private static GenerationJob ReadCommon(NpgsqlDataReader reader, int o, string type, Dictionary<string, string?>? columns)
    {
        var errorCode = NullableString(reader, o + 9);
        return new GenerationJob
        {
            Id = reader.GetGuid(o),
            Type = type,
            UserId = reader.GetString(o + 1),
            Status = GenerationStatusNames.Parse(reader.GetString(o + 2)),
            Prompt = NullableString(reader, o + 3),
            Preset = NullableString(reader, o + 4),
            SourceImageUrl = NullableString(reader, o + 5),
            ImageUrl = NullableString(reader, o + 6),
            Tags = reader.IsDBNull(o + 7) ? [] : reader.GetFieldValue<string[]>(o + 7),
            Meta = reader.IsDBNull(o + 8) ? EmptyMeta : ParseMeta(reader.GetString(o + 8)),
            Error = errorCode is null ? null : new GenerationError(GenerationError.CategoryFromCode(errorCode), errorCode, NullableString(reader, o + 10) ?? string.Empty),
            Attempts = reader.GetInt32(o + 11),
            LeaseUntil = reader.IsDBNull(o + 12) ? null : reader.GetFieldValue<DateTimeOffset>(o + 12),
            ProviderJobId = NullableString(reader, o + 13),
            IdempotencyKey = NullableString(reader, o + 14),
            LegacyId = NullableString(reader, o + 15),
            CreatedAt = reader.GetFieldValue<DateTimeOffset>(o + 16),
            UpdatedAt = reader.GetFieldValue<DateTimeOffset>(o + 17),
            NextCheckAt = reader.IsDBNull(o + 18) ? null : reader.GetFieldValue<DateTimeOffset>(o + 18),
            ProviderDeadline = reader.IsDBNull(o + 19) ? null : reader.GetFieldValue<DateTimeOffset>(o + 19),
            Columns = columns ?? EmptyColumns,
        };
    }

    private static readonly IReadOnlyDictionary<string, string?> EmptyColumns = FrozenDictionary<string, string?>.Empty;

    private static readonly IReadOnlyDictionary<string, string> EmptyMeta = FrozenDictionary<string, string>.Empty;

    private static string? NullableString(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    // Legacy rows may carry numbers, booleans or objects in meta: those keep their JSON text.
    // An empty object (most queued jobs) shares one empty map: a host may hold thousands of jobs.
    private static IReadOnlyDictionary<string, string> ParseMeta(string json)
    {
        using var document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.EnumerateObject().Any())
        {
            return EmptyMeta;
        }

        var meta = new Dictionary<string, string>(StringComparer.Ordinal);

        foreach (var property in document.RootElement.EnumerateObject())
        {
            switch (property.Value.ValueKind)
            {
                case JsonValueKind.String:
                    meta[property.Name] = property.Value.GetString()!;
                    break;
                case JsonValueKind.Null:
                    break;
                default:
                    meta[property.Name] = property.Value.GetRawText();
                    break;
            }
        }

        return meta;
    }

    private static NpgsqlParameter Text(string name, string? value) =>
        new(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value };

    private static NpgsqlParameter Json(string name, IReadOnlyDictionary<string, string> values) =>
        new(name, NpgsqlDbType.Jsonb) { Value = JsonText(values) };

    private static string JsonText(IReadOnlyDictionary<string, string> values)
    {
        var buffer = new ArrayBufferWriter<byte>(64 + values.Count * 32);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var pair in values)
            {
                writer.WriteString(pair.Key, pair.Value);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
