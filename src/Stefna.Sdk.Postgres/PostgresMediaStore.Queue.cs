using Npgsql;
using NpgsqlTypes;
using Stefna.Sdk.Relational;
using Stefna.Sdk.Storage;

namespace Stefna.Sdk.Postgres;

// The queue the engine drives. The statements are PostgreSQL's own (SKIP LOCKED claims, an advisory lock for the
// outstanding limit, batch writes over unnest, notifications on RETURNING; see TableSql); the claim rounds, the
// exhausted-job hand-over, the lost-lease answer and the status writes' SET lists are the relational core's.
public sealed partial class PostgresMediaStore
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<JobLease>> ClaimAsync(string type, int limit, TimeSpan leaseDuration, int maxAttempts, int? maxOutstanding, CancellationToken cancellationToken)
    {
        JobQueueFlow.CheckClaim(limit, maxAttempts, maxOutstanding);
        var sql = Table(type);

        // In a transaction: a job the claim fails for its exhausted attempts writes its webhooks with that change. With
        // a limit of outstanding jobs, the count and the claim run under the type's advisory lock: claims of other hosts
        // wait, and the claim's statement (a new snapshot) sees every claim committed before the lock was granted.
        await using var connection = await Guard(_dataSource.OpenConnectionAsync(cancellationToken).AsTask()).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (maxOutstanding is not null)
        {
            await using var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", connection, transaction);
            lockCommand.Parameters.Add(new NpgsqlParameter<long>("key", sql.ClaimLockKey));
            await Guard(lockCommand.ExecuteNonQueryAsync(cancellationToken)).ConfigureAwait(false);
        }

        var leases = await ClaimAsync(sql, leaseDuration, maxAttempts, (connection, transaction, maxOutstanding), limit, cancellationToken).ConfigureAwait(false);
        await Guard(transaction.CommitAsync(cancellationToken)).ConfigureAwait(false);
        return leases;
    }

    private Task<IReadOnlyList<JobLease>> ClaimAsync(TableSql sql, TimeSpan leaseDuration, int maxAttempts, (NpgsqlConnection Connection, NpgsqlTransaction Transaction, int? MaxOutstanding) within, int limit, CancellationToken cancellationToken)
    {
        var exhausted = GenerationError.LeaseExpired(maxAttempts);
        return _queue.ClaimAsync(limit, maxAttempts, async wanted =>
        {
            List<GenerationJob> rows;
            await using (var command = new NpgsqlCommand(within.MaxOutstanding is null ? sql.Claim : sql.ClaimLimited, within.Connection, within.Transaction))
            {
                command.Parameters.Add(Dialect.Integer("limit", wanted));
                if (within.MaxOutstanding is { } most)
                {
                    command.Parameters.Add(Dialect.Integer("max_outstanding", most));
                }

                command.Parameters.Add(new NpgsqlParameter<TimeSpan>("lease", leaseDuration));
                command.Parameters.Add(Dialect.Integer("max_attempts", maxAttempts));
                command.Parameters.Add(Dialect.Text("error_code", exhausted.Code));
                command.Parameters.Add(Dialect.Text("error_message", exhausted.Message));
                AddStatusParameters(command, sql);
                AddNow(command);
                rows = await Guard(_jobs.ReadAllAsync(command, sql, wanted, cancellationToken)).ConfigureAwait(false);
            }

            // A job failed for its exhausted attempts tells its webhooks in the same transaction.
            var failed = rows.Where(j => j.Status == GenerationStatus.Failed).Select(j => j with { UpdatedAt = _time.GetUtcNow() }).ToList();
            if (failed.Count > 0)
            {
                await AppendWebhooksAsync(within.Connection, within.Transaction, failed, cancellationToken).ConfigureAwait(false);
            }

            return (IReadOnlyList<GenerationJob>)rows;
        });
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
        return GuardedWriteAsync(Table(lease.Type).SetProviderJobId, lease, cancellationToken, Dialect.Text("provider_job_id", providerJobId));
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
            metas[i] = JobRows.JsonText(result.Meta);
        }

        void AddBatch(NpgsqlCommand command)
        {
            AddStatusParameters(command, sql);
            command.Parameters.Add(new NpgsqlParameter<string[]>("image_urls", urls));
            command.Parameters.Add(new NpgsqlParameter("metas", NpgsqlDbType.Array | NpgsqlDbType.Jsonb) { Value = metas });
        }

        if (completions.Any(c => MayHaveWebhooks(c.Lease.Job)))
        {
            // The completions and their webhooks in one transaction.
            return await WithWebhooksAsync(async (connection, transaction) =>
            {
                await using var inTransaction = new NpgsqlCommand(sql.CompleteMany, connection, transaction);
                AddBatch(inTransaction);
                var lost = await LeaseGuardedBatchAsync(inTransaction, completions.Select(c => c.Lease), ids, attempts, cancellationToken).ConfigureAwait(false);
                var at = _time.GetUtcNow();
                return (lost, (IReadOnlyList<GenerationJob>)[.. completions.Where(c => !lost.Contains(c.Lease)).Select(c => c.Lease.Job with { Status = GenerationStatus.Completed, ImageUrl = c.Result.ImageUrl, Error = null, UpdatedAt = at })]);
            }, cancellationToken).ConfigureAwait(false);
        }

        await using var command = _dataSource.CreateCommand(sql.CompleteMany);
        AddBatch(command);
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
            Dialect.Text("error_code", error.Code),
            Dialect.Text("error_message", error.Message),
            new NpgsqlParameter<TimeSpan>("delay", delay < TimeSpan.Zero ? TimeSpan.Zero : delay),
            Dialect.Time("not_before", notBefore),
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
                var written = await GuardedWriteAsync(command, lease, cancellationToken, Dialect.Text("error_code", error.Code), Dialect.Text("error_message", error.Message)).ConfigureAwait(false);
                return (written, written ? [lease.Job with { Status = GenerationStatus.Failed, Error = error, UpdatedAt = _time.GetUtcNow() }] : (IReadOnlyList<GenerationJob>)[]);
            }, cancellationToken);
        }

        return GuardedWriteAsync(Table(lease.Type).Fail, lease, cancellationToken,
            Dialect.Text("error_code", error.Code), Dialect.Text("error_message", error.Message));
    }

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
        return JobQueueFlow.Lost(leases, ids.Length, written);
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

    private async Task<bool> GuardedWriteAsync(string text, JobLease lease, CancellationToken cancellationToken, params System.Data.Common.DbParameter[] parameters)
    {
        await using var command = _dataSource.CreateCommand(text);
        return await GuardedWriteAsync(command, lease, cancellationToken, parameters).ConfigureAwait(false);
    }

    // A single-job write under the lease guard (JobSchema.LeaseGuard: @id, @attempt).
    private async Task<bool> GuardedWriteAsync(NpgsqlCommand command, JobLease lease, CancellationToken cancellationToken, params System.Data.Common.DbParameter[] parameters)
    {
        AddStatusParameters(command, Table(lease.Type));
        command.Parameters.Add(Dialect.Id("id", lease.Id));
        command.Parameters.Add(Dialect.Integer("attempt", lease.Attempt));
        AddNow(command);
        command.Parameters.AddRange(parameters);
        return await Guard(async () => await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1).ConfigureAwait(false);
    }

    private void AddNow(NpgsqlCommand command)
    {
        if (!_options.UseDatabaseClock)
        {
            command.Parameters.Add(Dialect.Time("now", _time.GetUtcNow()));
        }
    }
}
