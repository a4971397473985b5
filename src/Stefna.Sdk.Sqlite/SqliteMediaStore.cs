using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Stefna.Sdk.Generators;
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
/// </remarks>
public sealed partial class SqliteMediaStore : IMediaStore, IJobParking, IDisposable
{
    // The order of the common columns in every select list; Read() depends on it.
    private static readonly string[] Common =
    [
        "id", "user_id", "status", "prompt", "preset", "source_image_url", "image_url", "tags", "meta",
        "error_code", "error_message", "attempts", "lease_until", "provider_job_id", "idempotency_key",
        "legacy_id", "created_at", "updated_at", "next_check_at", "provider_deadline",
    ];

    private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private const string Queued = "'queued'";
    private const string Processing = "'processing'";
    private const string EmptyObject = "'{}'";
    private const int MaxBusyRetries = 5;

    private readonly string _connectionString;
    private readonly string _databasePath;
    private readonly int _busyTimeoutMs;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _writeGate = new(1, 1);

    // Jobs ClaimAsync failed for good, until the worker takes them (TakeExhaustedJobs); capped for callers that never take.
    private const int MaxExhaustedKept = 10_000;
    private readonly ConcurrentQueue<GenerationJob> _exhausted = new();
    private readonly ConcurrentDictionary<string, TypeTable> _types = new(StringComparer.Ordinal);
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
    }

    /// <summary>The absolute path of the database file.</summary>
    public string DatabasePath => _databasePath;

    // The 16-byte header every SQLite 3 database file starts with.
    private static ReadOnlySpan<byte> SqliteHeader => "SQLite format 3\0"u8;

    // A file that exists but is empty (truncated) or holds something else is never initialised over: SQLite would
    // happily turn a zero-byte file into a new, empty database and every job in it would be gone without a word.
    private void RefuseAnythingButADatabase()
    {
        var file = new FileInfo(_databasePath);
        if (!file.Exists)
        {
            return;
        }

        if (file.Length == 0)
        {
            throw new InvalidOperationException($"The SQLite database file '{_databasePath}' exists but is empty (0 bytes), so it holds no jobs: it may have been truncated. It is not initialised as a new database; restore it from a backup, or delete it to start with an empty one.");
        }

        Span<byte> header = stackalloc byte[16];
        using (var stream = new FileStream(_databasePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            if (stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length || !header.SequenceEqual(SqliteHeader))
            {
                throw new InvalidOperationException($"The file '{_databasePath}' is not a SQLite database; the SQLite store does not open or overwrite it. Point the store at a database file (or a path where none exists yet).");
            }
        }
    }

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

        foreach (var definition in types)
        {
            _types[definition.Name] = new TypeTable(definition);
        }

        Log.Initialized(_logger, _databasePath, string.Join(", ", types.Select(t => t.TableName)));
    }

    /// <inheritdoc />
    public async Task<InsertResult> InsertAsync(NewGenerationJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var table = Table(job.Type);
        MediaStoreChecks.CheckInsert(table.Definition, job);

        var created = await WriteAsync("insert", async connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = table.InsertSql;
            command.Parameters.AddWithValue("@id", Id(job.Id));
            command.Parameters.AddWithValue("@user", job.UserId);
            command.Parameters.AddWithValue("@prompt", Db(job.Prompt));
            command.Parameters.AddWithValue("@preset", Db(job.Preset));
            command.Parameters.AddWithValue("@source", Db(job.SourceImageUrl));
            command.Parameters.AddWithValue("@tags", JsonSerializer.Serialize(job.Tags, Json));
            command.Parameters.AddWithValue("@meta", JsonSerializer.Serialize(job.Meta, Json));
            command.Parameters.AddWithValue("@key", Db(job.IdempotencyKey));
            command.Parameters.AddWithValue("@created", job.CreatedAt.UtcTicks);
            for (var i = 0; i < table.Definition.ExtraColumns.Count; i++)
            {
                command.Parameters.AddWithValue("@x" + i.ToString(CultureInfo.InvariantCulture), Db(job.Columns.GetValueOrDefault(table.Definition.ExtraColumns[i])));
            }

            return await ReadSingleAsync(command, table, cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);

        if (created is not null)
        {
            return new InsertResult(created, Created: true);
        }

        // The idempotency key matched: rows are never deleted, so the earlier job is there to read.
        var existing = await FindByIdempotencyKeyAsync(job.Type, job.UserId, job.IdempotencyKey!, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"The {job.Type} job {job.Id} was not inserted and no job has its idempotency key.");
        return new InsertResult(existing, Created: false);
    }

    /// <inheritdoc />
    public async Task<GenerationJob?> FindByIdempotencyKeyAsync(string type, string userId, string idempotencyKey, CancellationToken cancellationToken)
    {
        var table = Table(type);
        using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {table.SelectList} FROM {table.Quoted} WHERE user_id = @user AND idempotency_key = @key";
        command.Parameters.AddWithValue("@user", userId);
        command.Parameters.AddWithValue("@key", idempotencyKey);
        return await ReadSingleAsync(command, table, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<GenerationJob?> GetAsync(string type, Guid id, string userId, CancellationToken cancellationToken)
    {
        var table = Table(type);
        using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await GetAsync(connection, table, id, userId, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<JobLease>> ClaimAsync(string type, int limit, TimeSpan leaseDuration, int maxAttempts, int? maxOutstanding, CancellationToken cancellationToken)
    {
        if (maxOutstanding is { } outstanding)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(outstanding, 1, nameof(maxOutstanding));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        var table = Table(type);
        var exhausted = GenerationError.LeaseExpired(maxAttempts);
        var leases = new List<JobLease>();
        while (true)
        {
            var wanted = limit - leases.Count;
            var rows = await WriteAsync("claim", async connection =>
            {
                var now = _time.GetUtcNow();
                using var transaction = connection.BeginTransaction(deferred: false);
                using var command = connection.CreateCommand();
                command.Transaction = transaction;

                // One statement, so the pick and the claim are a single atomic write: no claimer can see the rows
                // between. A row whose lease expired after the last allowed attempt (its worker stopped every time)
                // is failed instead of claimed; the CASEs read the row as it was.
                const string lost = $"status = {Processing} AND attempts >= @max_attempts";
                command.CommandText = $"""
                    UPDATE {table.Quoted} SET
                        status = CASE WHEN {lost} THEN 'failed' ELSE {Processing} END,
                        attempts = CASE WHEN {lost} THEN attempts ELSE attempts + 1 END,
                        lease_until = CASE WHEN {lost} THEN NULL ELSE @until END,
                        error_code = CASE WHEN {lost} THEN @code ELSE error_code END,
                        error_message = CASE WHEN {lost} THEN @message ELSE error_message END,
                        updated_at = @now
                    WHERE id IN (
                        SELECT id FROM {table.Quoted}
                        WHERE (status = {Queued} AND (lease_until IS NULL OR lease_until <= @now))
                           OR (status = {Processing} AND lease_until < @now)
                        ORDER BY created_at, id
                        LIMIT {(maxOutstanding is null ? "@limit" : $"max(0, min(@limit, @max_outstanding - (SELECT count(*) FROM {table.Quoted} WHERE status = {Processing})))")})
                    RETURNING {table.SelectList}
                    """;
                command.Parameters.AddWithValue("@now", now.UtcTicks);
                command.Parameters.AddWithValue("@until", (now + leaseDuration).UtcTicks);
                command.Parameters.AddWithValue("@max_attempts", maxAttempts);
                if (maxOutstanding is { } most)
                {
                    // In the same write as the claim, so no other claimer counts in between.
                    command.Parameters.AddWithValue("@max_outstanding", most);
                }

                command.Parameters.AddWithValue("@code", exhausted.Code);
                command.Parameters.AddWithValue("@message", exhausted.Message);
                command.Parameters.AddWithValue("@limit", wanted);
                var jobs = new List<GenerationJob>();
                using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        jobs.Add(Read(reader, table.Definition.Name, offset: 0));
                    }
                }

                // A job failed for its exhausted attempts tells its webhooks in the same transaction.
                foreach (var job in jobs.Where(j => j.Status == GenerationStatus.Failed))
                {
                    await AppendWebhooksAsync(connection, transaction, job, cancellationToken).ConfigureAwait(false);
                }

                transaction.Commit();
                return jobs;
            }, cancellationToken).ConfigureAwait(false);

            var failed = 0;
            foreach (var job in rows)
            {
                if (job.Status == GenerationStatus.Processing)
                {
                    leases.Add(new JobLease(job));
                }
                else
                {
                    // A candidate had used its last attempt and was failed instead of claimed.
                    failed++;
                    Log.AttemptsExhausted(_logger, type, job.Id, job.Attempts, maxAttempts);
                    if (_exhausted.Count < MaxExhaustedKept)
                    {
                        _exhausted.Enqueue(job);
                    }
                }
            }

            // Look again only for the places exhausted rows took, and only while the queue filled the request.
            if (failed == 0 || rows.Count < wanted)
            {
                break;
            }
        }

        // RETURNING has no guaranteed order; hand the oldest job out first.
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
        var table = Table(type);
        if (leases.Count == 0)
        {
            return [];
        }

        // The leases travel as one JSON object {id: attempt}; the row-value IN keeps the lease guard per row.
        var pairs = new Dictionary<string, int>(leases.Count, StringComparer.Ordinal);
        foreach (var lease in leases)
        {
            pairs[Id(lease.Id)] = lease.Attempt;
        }

        var renewed = await WriteAsync("renew", async connection =>
        {
            var now = _time.GetUtcNow();
            using var command = connection.CreateCommand();
            command.CommandText = $"""
                UPDATE {table.Quoted} SET lease_until = @until, updated_at = @now
                WHERE status = {Processing} AND next_check_at IS NULL AND (id, attempts) IN (SELECT key, value FROM json_each(@leases))
                RETURNING id
                """;
            command.Parameters.AddWithValue("@now", now.UtcTicks);
            command.Parameters.AddWithValue("@until", (now + leaseDuration).UtcTicks);
            command.Parameters.AddWithValue("@leases", JsonSerializer.Serialize(pairs, Json));
            var ids = new HashSet<Guid>();
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                ids.Add(Guid.Parse(reader.GetString(0)));
            }

            return ids;
        }, cancellationToken).ConfigureAwait(false);

        return renewed.Count == leases.Count ? [] : [.. leases.Where(l => !renewed.Contains(l.Id))];
    }

    /// <inheritdoc />
    public Task<bool> SetProviderJobIdAsync(JobLease lease, string providerJobId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(providerJobId);
        return GuardedUpdateAsync(lease, "provider_job_id = @provider", cancellationToken, ("@provider", providerJobId));
    }

    /// <inheritdoc />
    public Task<bool> ParkAsync(JobLease lease, string providerJobId, DateTimeOffset nextCheckAt, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(providerJobId);
        return GuardedUpdateAsync(
            lease,
            "provider_job_id = @provider, next_check_at = @next, provider_deadline = @deadline, lease_until = NULL",
            cancellationToken,
            ("@provider", providerJobId),
            ("@next", nextCheckAt.UtcTicks),
            ("@deadline", deadline.UtcTicks));
    }

    /// <inheritdoc />
    public async Task<ParkedClaim> ClaimParkedAsync(string type, int limit, TimeSpan leaseDuration, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var table = Table(type);
        return await WriteAsync("claim-parked", async connection =>
        {
            var now = _time.GetUtcNow();
            var leases = new List<JobLease>();
            using (var command = connection.CreateCommand())
            {
                // Due parked jobs, earliest first, leased in one atomic write without spending an attempt.
                command.CommandText = $"""
                    UPDATE {table.Quoted} SET lease_until = @until, next_check_at = NULL, updated_at = @now
                    WHERE id IN (
                        SELECT id FROM {table.Quoted}
                        WHERE status = {Processing} AND next_check_at <= @now
                        ORDER BY next_check_at, id
                        LIMIT @limit)
                    RETURNING {table.SelectList}
                    """;
                command.Parameters.AddWithValue("@now", now.UtcTicks);
                command.Parameters.AddWithValue("@until", (now + leaseDuration).UtcTicks);
                command.Parameters.AddWithValue("@limit", limit);
                using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    leases.Add(new JobLease(Read(reader, table.Definition.Name, offset: 0)));
                }
            }

            using var next = connection.CreateCommand();
            next.CommandText = $"SELECT min(next_check_at) FROM {table.Quoted} WHERE status = {Processing} AND next_check_at IS NOT NULL";
            var earliest = await next.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return new ParkedClaim(leases, earliest is long ticks ? Time(ticks) : null);
        }, cancellationToken).ConfigureAwait(false);
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
        var table = Table(type);
        if (completions.Count == 0)
        {
            return [];
        }

        // One write transaction for the whole batch: with SQLite the commit is the cost, not the statements.
        return await WriteAsync("complete", async connection =>
        {
            var lost = new List<JobLease>();
            using var transaction = connection.BeginTransaction(deferred: false);
            using var command = connection.CreateCommand();
            command.Transaction = transaction;

            // json_patch merges the new keys into the stored object (RFC 7396); a completed job carries no error. The
            // lease guard: only the claim that made this attempt may write, and only while it still runs.
            command.CommandText = $"""
                UPDATE {table.Quoted} SET status = 'completed', image_url = @image, meta = json_patch(meta, @meta), lease_until = NULL,
                    error_code = NULL, error_message = NULL, updated_at = @now
                WHERE id = @id AND status = {Processing} AND attempts = @attempt AND next_check_at IS NULL
                """;
            command.Parameters.AddWithValue("@now", _time.GetUtcNow().UtcTicks);
            var id = command.Parameters.Add("@id", SqliteType.Text);
            var attempt = command.Parameters.Add("@attempt", SqliteType.Integer);
            var image = command.Parameters.Add("@image", SqliteType.Text);
            var meta = command.Parameters.Add("@meta", SqliteType.Text);
            foreach (var (lease, result) in completions)
            {
                ArgumentNullException.ThrowIfNull(lease);
                ArgumentNullException.ThrowIfNull(result);
                id.Value = Id(lease.Id);
                attempt.Value = lease.Attempt;
                image.Value = result.ImageUrl;
                meta.Value = JsonSerializer.Serialize(result.Meta, Json);
                if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) != 1)
                {
                    lost.Add(lease);
                }
                else
                {
                    await AppendWebhooksAsync(connection, transaction, lease.Job with { Status = GenerationStatus.Completed, ImageUrl = result.ImageUrl, Error = null, UpdatedAt = Time((long)command.Parameters["@now"].Value!) }, cancellationToken).ConfigureAwait(false);
                }
            }

            transaction.Commit();
            return (IReadOnlyList<JobLease>)lost;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<bool> RequeueAsync(JobLease lease, GenerationError error, DateTimeOffset notBefore, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(error);
        return GuardedUpdateAsync(
            lease,
            $"status = {Queued}, lease_until = @until, error_code = @code, error_message = @message",
            cancellationToken,
            ("@until", notBefore.UtcTicks),
            ("@code", error.Code),
            ("@message", error.Message));
    }

    /// <inheritdoc />
    public Task<bool> ReleaseAsync(JobLease lease, CancellationToken cancellationToken) =>
        GuardedUpdateAsync(lease, $"status = {Queued}, attempts = max(attempts - 1, 0), lease_until = NULL", cancellationToken);

    /// <inheritdoc />
    public Task<bool> FailAsync(JobLease lease, GenerationError error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(error);
        return GuardedUpdateAsync(
            lease,
            "status = 'failed', lease_until = NULL, error_code = @code, error_message = @message",
            cancellationToken,
            lease.Job with { Status = GenerationStatus.Failed, Error = error },
            ("@code", error.Code),
            ("@message", error.Message));
    }

    /// <inheritdoc />
    public Task<GenerationJob?> CancelAsync(string type, Guid id, string userId, CancellationToken cancellationToken)
    {
        var table = Table(type);
        return WriteAsync("cancel", async connection =>
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = $"""
                UPDATE {table.Quoted} SET status = 'canceled', lease_until = NULL, next_check_at = NULL, updated_at = @now
                WHERE id = @id AND user_id = @user AND status IN ({Queued}, {Processing})
                RETURNING {table.SelectList}
                """;
            command.Parameters.AddWithValue("@now", _time.GetUtcNow().UtcTicks);
            command.Parameters.AddWithValue("@id", Id(id));
            command.Parameters.AddWithValue("@user", userId);
            var canceled = await ReadSingleAsync(command, table, cancellationToken).ConfigureAwait(false);
            if (canceled is not null)
            {
                await AppendWebhooksAsync(connection, transaction, canceled, cancellationToken).ConfigureAwait(false);
            }

            transaction.Commit();
            return canceled ?? await GetAsync(connection, table, id, userId, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<FeedPage> QueryFeedAsync(FeedQuery query, CancellationToken cancellationToken)
    {
        var cursor = MediaStoreChecks.CheckFeedQuery(query);

        var tables = (query.Types is { Count: > 0 } ? query.Types.Distinct(StringComparer.Ordinal).Select(Table) : _types.Values.OrderBy(t => t.Definition.Name, StringComparer.Ordinal)).ToList();
        if (tables.Count == 0)
        {
            return new FeedPage([], null);
        }

        using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        var filter = new StringBuilder("user_id = @user");
        command.Parameters.AddWithValue("@user", query.UserId);
        if (query.Status is { } status)
        {
            filter.Append(" AND status = @status");
            command.Parameters.AddWithValue("@status", status.ToName());
        }

        if (!string.IsNullOrEmpty(query.Tag))
        {
            // Exact element match on the JSON array: 'neo' does not match 'neo-tokyo'.
            filter.Append(" AND EXISTS (SELECT 1 FROM json_each(tags) WHERE json_each.value = @tag)");
            command.Parameters.AddWithValue("@tag", query.Tag);
        }

        if (cursor is { } position)
        {
            filter.Append(" AND (created_at < @cursorAt OR (created_at = @cursorAt AND id < @cursorId))");
            command.Parameters.AddWithValue("@cursorAt", position.CreatedAt.UtcTicks);
            command.Parameters.AddWithValue("@cursorId", Id(position.Id));
        }

        var branches = new List<string>(tables.Count);
        for (var i = 0; i < tables.Count; i++)
        {
            var name = "@type" + i.ToString(CultureInfo.InvariantCulture);
            command.Parameters.AddWithValue(name, tables[i].Definition.Name);
            branches.Add($"SELECT {name} AS job_type, {tables[i].SelectList} FROM {tables[i].Quoted} WHERE {filter}");
        }

        command.CommandText = $"SELECT * FROM ({string.Join(" UNION ALL ", branches)}) ORDER BY created_at DESC, id DESC LIMIT @take";
        command.Parameters.AddWithValue("@take", query.Limit + 1);

        var items = new List<GenerationJob>(query.Limit + 1);
        using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                items.Add(Read(reader, reader.GetString(0), offset: 1));
            }
        }

        if (items.Count <= query.Limit)
        {
            return new FeedPage(items, null);
        }

        items.RemoveAt(items.Count - 1);
        var last = items[^1];
        return new FeedPage(items, new FeedCursor(last.CreatedAt, last.Id).Encode());
    }

    /// <inheritdoc />
    public async Task<long> CountUnfinishedAsync(string type, CancellationToken cancellationToken)
    {
        var table = Table(type);
        using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM {table.Quoted} WHERE status IN ({Queued}, {Processing})";
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    /// <inheritdoc />
    public async Task<QueueSnapshot> GetQueueSnapshotAsync(string type, CancellationToken cancellationToken)
    {
        var table = Table(type);
        using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*), min(created_at) FROM {table.Quoted} WHERE status = {Queued}";
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new QueueSnapshot(reader.GetInt64(0), reader.IsDBNull(1) ? null : new DateTimeOffset(reader.GetInt64(1), TimeSpan.Zero));
    }

    /// <summary>Releases the pooled connections to the database file.</summary>
    public void Dispose()
    {
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }

    private async Task CreateTypeTableAsync(SqliteConnection connection, SqliteTransaction transaction, GenerationTypeDefinition definition, CancellationToken cancellationToken)
    {
        var table = Quote(definition.TableName);
        string presetReference = string.Empty;
        if (definition.Catalog is { } catalog)
        {
            var catalogTable = Quote(catalog.TableName);
            await ExecuteAsync(connection, $"CREATE TABLE IF NOT EXISTS {catalogTable} (key TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL) STRICT;", cancellationToken, transaction).ConfigureAwait(false);
            foreach (var entry in catalog.Entries)
            {
                await ExecuteAsync(
                    connection,
                    $"INSERT INTO {catalogTable} (key, name, description) VALUES (@key, @name, @description) ON CONFLICT (key) DO UPDATE SET name = excluded.name, description = excluded.description;",
                    cancellationToken,
                    transaction,
                    ("@key", entry.Key),
                    ("@name", entry.Name),
                    ("@description", entry.Description)).ConfigureAwait(false);
            }

            presetReference = $" REFERENCES {catalogTable} (key)";
        }

        var columns = new StringBuilder();
        foreach (var extra in definition.ExtraColumns)
        {
            columns.Append(",\n    ").Append(Quote(extra)).Append(" TEXT");
        }

        await ExecuteAsync(connection, $"""
            CREATE TABLE IF NOT EXISTS {table} (
                id TEXT PRIMARY KEY NOT NULL,
                user_id TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'completed', 'failed', 'canceled')),
                prompt TEXT,
                preset TEXT{presetReference},
                source_image_url TEXT,
                image_url TEXT,
                tags TEXT NOT NULL DEFAULT '[]',
                meta TEXT NOT NULL DEFAULT {EmptyObject},
                error_code TEXT,
                error_message TEXT,
                attempts INTEGER NOT NULL DEFAULT 0,
                lease_until INTEGER,
                provider_job_id TEXT,
                idempotency_key TEXT,
                legacy_id TEXT,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                next_check_at INTEGER,
                provider_deadline INTEGER{columns}
            ) STRICT;
            """, cancellationToken, transaction).ConfigureAwait(false);

        // A table made by an older version of the type lacks its newer columns.
        var existing = new HashSet<string>(StringComparer.Ordinal);
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "SELECT name FROM pragma_table_info(@table)";
            command.Parameters.AddWithValue("@table", definition.TableName);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                existing.Add(reader.GetString(0));
            }
        }

        // Parking (next check, provider deadline) came after the first release: older tables gain the columns.
        foreach (var parking in new[] { "next_check_at", "provider_deadline" }.Where(c => !existing.Contains(c)))
        {
            await ExecuteAsync(connection, $"ALTER TABLE {table} ADD COLUMN {parking} INTEGER;", cancellationToken, transaction).ConfigureAwait(false);
            Log.ColumnAdded(_logger, definition.TableName, parking);
        }

        foreach (var extra in definition.ExtraColumns.Where(c => !existing.Contains(c)))
        {
            await ExecuteAsync(connection, $"ALTER TABLE {table} ADD COLUMN {Quote(extra)} TEXT;", cancellationToken, transaction).ConfigureAwait(false);
            Log.ColumnAdded(_logger, definition.TableName, extra);
        }

        var name = definition.TableName;
        await ExecuteAsync(connection, $"""
            CREATE INDEX IF NOT EXISTS {Quote("ix_" + name + "_claim")} ON {table} (status, lease_until, created_at);
            CREATE INDEX IF NOT EXISTS {Quote("ix_" + name + "_feed")} ON {table} (user_id, created_at DESC, id DESC);
            CREATE INDEX IF NOT EXISTS {Quote("ix_" + name + "_parked")} ON {table} (next_check_at) WHERE next_check_at IS NOT NULL;
            CREATE UNIQUE INDEX IF NOT EXISTS {Quote("ux_" + name + "_idempotency")} ON {table} (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
            """, cancellationToken, transaction).ConfigureAwait(false);
    }

    private Task<bool> GuardedUpdateAsync(JobLease lease, string set, CancellationToken cancellationToken, params (string Name, object Value)[] parameters) =>
        GuardedUpdateAsync(lease, set, cancellationToken, terminal: null, parameters);

    // terminal: the job as it is after a terminal change, whose webhooks are written in the same transaction.
    private Task<bool> GuardedUpdateAsync(JobLease lease, string set, CancellationToken cancellationToken, GenerationJob? terminal, params (string Name, object Value)[] parameters)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var table = Table(lease.Type);
        return WriteAsync("update", async connection =>
        {
            using var transaction = terminal is null ? null : connection.BeginTransaction(deferred: false);
            using var command = connection.CreateCommand();
            command.Transaction = transaction;

            // The lease guard: only the claim that made this attempt may write, and only while it still runs.
            // A parked job (next_check_at set) has no holder: nothing may write to it under its old lease.
            command.CommandText = $"UPDATE {table.Quoted} SET {set}, updated_at = @now WHERE id = @id AND status = {Processing} AND attempts = @attempt AND next_check_at IS NULL";
            command.Parameters.AddWithValue("@now", _time.GetUtcNow().UtcTicks);
            command.Parameters.AddWithValue("@id", Id(lease.Id));
            command.Parameters.AddWithValue("@attempt", lease.Attempt);
            foreach (var (name, value) in parameters)
            {
                command.Parameters.AddWithValue(name, value);
            }

            var written = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
            if (transaction is not null)
            {
                if (written)
                {
                    await AppendWebhooksAsync(connection, transaction, terminal! with { UpdatedAt = Time((long)command.Parameters["@now"].Value!) }, cancellationToken).ConfigureAwait(false);
                }

                transaction.Commit();
            }

            return written;
        }, cancellationToken);
    }

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

    private static async Task<GenerationJob?> GetAsync(SqliteConnection connection, TypeTable table, Guid id, string userId, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {table.SelectList} FROM {table.Quoted} WHERE id = @id AND user_id = @user";
        command.Parameters.AddWithValue("@id", Id(id));
        command.Parameters.AddWithValue("@user", userId);
        return await ReadSingleAsync(command, table, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<GenerationJob?> ReadSingleAsync(SqliteCommand command, TypeTable table, CancellationToken cancellationToken)
    {
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? Read(reader, table.Definition.Name, offset: 0) : null;
    }

    private static GenerationJob Read(SqliteDataReader reader, string type, int offset)
    {
        string? Text(int i) => reader.IsDBNull(offset + i) ? null : reader.GetString(offset + i);
        var errorCode = Text(9);
        return new GenerationJob
        {
            Id = Guid.Parse(reader.GetString(offset)),
            Type = type,
            UserId = reader.GetString(offset + 1),
            Status = GenerationStatusNames.Parse(reader.GetString(offset + 2)),
            Prompt = Text(3),
            Preset = Text(4),
            SourceImageUrl = Text(5),
            ImageUrl = Text(6),
            Tags = JsonSerializer.Deserialize<List<string>>(reader.GetString(offset + 7), Json) ?? [],
            Meta = JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(offset + 8), Json) ?? [],
            Error = errorCode is null ? null : new GenerationError(GenerationError.CategoryFromCode(errorCode), errorCode, Text(10) ?? string.Empty),
            Attempts = reader.GetInt32(offset + 11),
            LeaseUntil = reader.IsDBNull(offset + 12) ? null : Time(reader.GetInt64(offset + 12)),
            ProviderJobId = Text(13),
            IdempotencyKey = Text(14),
            LegacyId = Text(15),
            CreatedAt = Time(reader.GetInt64(offset + 16)),
            UpdatedAt = Time(reader.GetInt64(offset + 17)),
            NextCheckAt = reader.IsDBNull(offset + 18) ? null : Time(reader.GetInt64(offset + 18)),
            ProviderDeadline = reader.IsDBNull(offset + 19) ? null : Time(reader.GetInt64(offset + 19)),
            Columns = JsonSerializer.Deserialize<Dictionary<string, string?>>(reader.GetString(offset + 20), Json) ?? [],
        };
    }

    private TypeTable Table(string type) =>
        _types.TryGetValue(type ?? string.Empty, out var table)
            ? table
            : throw new InvalidOperationException($"The SQLite store has no table for generation type '{type}': it was not among the types passed to InitializeAsync.");

    private static DateTimeOffset Time(long utcTicks) => new(utcTicks, TimeSpan.Zero);

    private static string Id(Guid id) => id.ToString("D");

    private static object Db(string? value) => (object?)value ?? DBNull.Value;

    // Identifiers come from validated definitions (lower-case letters, digits, underscores); quoting is belt and braces.
    private static string Quote(string identifier) => "\"" + identifier + "\"";

    /// <summary>A registered type's table and the SQL built once from its validated definition.</summary>
    private sealed class TypeTable
    {
        public TypeTable(GenerationTypeDefinition definition)
        {
            Definition = definition;
            Quoted = Quote(definition.TableName);

            // The type's own columns travel as one JSON object, so every table shares one row shape (and the feed can UNION ALL).
            var extras = definition.ExtraColumns.Count == 0
                ? EmptyObject
                : "json_object(" + string.Join(", ", definition.ExtraColumns.Select(c => $"'{c}', {Quote(c)}")) + ")";
            SelectList = string.Join(", ", Common) + ", " + extras + " AS extra_columns";

            var extraNames = string.Concat(definition.ExtraColumns.Select(c => ", " + Quote(c)));
            var extraValues = string.Concat(definition.ExtraColumns.Select((_, i) => ", @x" + i.ToString(CultureInfo.InvariantCulture)));
            InsertSql = $"""
                INSERT INTO {Quoted} (id, user_id, status, prompt, preset, source_image_url, tags, meta, attempts, idempotency_key, created_at, updated_at{extraNames})
                VALUES (@id, @user, {SqliteMediaStore.Queued}, @prompt, @preset, @source, @tags, @meta, 0, @key, @created, @created{extraValues})
                ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
                RETURNING {SelectList}
                """;
        }

        public GenerationTypeDefinition Definition { get; }

        public string Quoted { get; }

        public string SelectList { get; }

        public string InsertSql { get; }
    }
}
