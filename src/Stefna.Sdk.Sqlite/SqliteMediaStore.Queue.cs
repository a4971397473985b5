using System.Data.Common;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Stefna.Sdk.Relational;
using Stefna.Sdk.Storage;

namespace Stefna.Sdk.Sqlite;

// The queue the engine drives. The claim is one write transaction (SQLite has one writer: no row locks to skip);
// the rounds around it, the exhausted-job hand-over and the status writes are the relational core's.
public sealed partial class SqliteMediaStore
{
    /// <inheritdoc />
    public Task<IReadOnlyList<JobLease>> ClaimAsync(string type, int limit, TimeSpan leaseDuration, int maxAttempts, int? maxOutstanding, CancellationToken cancellationToken)
    {
        JobQueueFlow.CheckClaim(limit, maxAttempts, maxOutstanding);
        var table = Table(type);
        var exhausted = GenerationError.LeaseExpired(maxAttempts);

        // One statement, so the pick and the claim are a single atomic write: no claimer can see the rows between; a
        // limit of outstanding jobs is counted in the same write.
        var sql = $"""
            UPDATE {table.Quoted} SET {JobWrites.Claim("@now", "@until")}
            WHERE id IN (
                SELECT id FROM {table.Quoted}
                WHERE {JobWrites.Claimable("@now")}
                ORDER BY created_at, id
                LIMIT {JobWrites.ClaimLimit(Dialect, table.Quoted, maxOutstanding is not null)})
            RETURNING {table.Columns}
            """;
        return _queue.ClaimAsync(limit, maxAttempts, wanted => WriteAsync("claim", async connection =>
        {
            var now = _time.GetUtcNow();
            using var transaction = connection.BeginTransaction(deferred: false);
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = sql;
            command.Parameters.Add(Dialect.Time("now", now));
            command.Parameters.Add(Dialect.Time("until", now + leaseDuration));
            command.Parameters.Add(Dialect.Integer("max_attempts", maxAttempts));
            if (maxOutstanding is { } most)
            {
                command.Parameters.Add(Dialect.Integer("max_outstanding", most));
            }

            command.Parameters.Add(Dialect.Text("error_code", exhausted.Code));
            command.Parameters.Add(Dialect.Text("error_message", exhausted.Message));
            command.Parameters.Add(Dialect.Integer("limit", wanted));
            var jobs = await _jobs.ReadAllAsync(command, table, wanted, cancellationToken).ConfigureAwait(false);

            // A job failed for its exhausted attempts tells its webhooks in the same transaction.
            foreach (var job in jobs.Where(j => j.Status == GenerationStatus.Failed))
            {
                await AppendWebhooksAsync(connection, transaction, job, cancellationToken).ConfigureAwait(false);
            }

            transaction.Commit();
            return (IReadOnlyList<GenerationJob>)jobs;
        }, cancellationToken));
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
                UPDATE {table.Quoted} SET {JobWrites.Renew("@now", "@until")}
                WHERE status = 'processing' AND next_check_at IS NULL AND (id, attempts) IN (SELECT key, value FROM json_each(@leases))
                RETURNING id
                """;
            command.Parameters.Add(Dialect.Time("now", now));
            command.Parameters.Add(Dialect.Time("until", now + leaseDuration));
            command.Parameters.Add(Dialect.Text("leases", JsonSerializer.Serialize(pairs)));
            var ids = new HashSet<Guid>();
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                ids.Add(Dialect.ReadId(reader, 0));
            }

            return ids;
        }, cancellationToken).ConfigureAwait(false);

        return JobQueueFlow.Lost(leases, leases.Count, renewed);
    }

    /// <inheritdoc />
    public Task<bool> SetProviderJobIdAsync(JobLease lease, string providerJobId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(providerJobId);
        return GuardedUpdateAsync(lease, JobWrites.SetProviderJobId, cancellationToken, terminal: null, Dialect.Text("provider_job_id", providerJobId));
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
        // json_patch merges the new keys into the stored object (RFC 7396).
        return await WriteAsync("complete", async connection =>
        {
            var lost = new List<JobLease>();
            var now = _time.GetUtcNow();
            using var transaction = connection.BeginTransaction(deferred: false);
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = table.GuardedUpdate(JobWrites.Complete("@image_url", "json_patch(meta, @meta)"), "@now");
            command.Parameters.Add(Dialect.Time("now", now));
            var id = command.Parameters.Add("@id", SqliteType.Text);
            var attempt = command.Parameters.Add("@attempt", SqliteType.Integer);
            var image = command.Parameters.Add("@image_url", SqliteType.Text);
            var meta = command.Parameters.Add("@meta", SqliteType.Text);
            foreach (var (lease, result) in completions)
            {
                ArgumentNullException.ThrowIfNull(lease);
                ArgumentNullException.ThrowIfNull(result);
                id.Value = Id(lease.Id);
                attempt.Value = lease.Attempt;
                image.Value = result.ImageUrl;
                meta.Value = JobRows.JsonText(result.Meta);
                if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) != 1)
                {
                    lost.Add(lease);
                }
                else
                {
                    await AppendWebhooksAsync(connection, transaction, lease.Job with { Status = GenerationStatus.Completed, ImageUrl = result.ImageUrl, Error = null, UpdatedAt = now }, cancellationToken).ConfigureAwait(false);
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
        return GuardedUpdateAsync(lease, JobWrites.Requeue("@not_before"), cancellationToken, terminal: null,
            Dialect.Time("not_before", notBefore), Dialect.Text("error_code", error.Code), Dialect.Text("error_message", error.Message));
    }

    /// <inheritdoc />
    public Task<bool> ReleaseAsync(JobLease lease, CancellationToken cancellationToken) =>
        GuardedUpdateAsync(lease, JobWrites.Release(Dialect), cancellationToken, terminal: null);

    /// <inheritdoc />
    public Task<bool> FailAsync(JobLease lease, GenerationError error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(error);
        return GuardedUpdateAsync(lease, JobWrites.Fail, cancellationToken, lease.Job with { Status = GenerationStatus.Failed, Error = error },
            Dialect.Text("error_code", error.Code), Dialect.Text("error_message", error.Message));
    }

    // A single-job write under the lease guard. terminal: the job as it is after a terminal change, whose webhooks are
    // written in the same transaction.
    private Task<bool> GuardedUpdateAsync(JobLease lease, string set, CancellationToken cancellationToken, GenerationJob? terminal, params DbParameter[] parameters)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var table = Table(lease.Type);
        return WriteAsync("update", async connection =>
        {
            var now = _time.GetUtcNow();
            using var transaction = terminal is null ? null : connection.BeginTransaction(deferred: false);
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = table.GuardedUpdate(set, "@now");
            command.Parameters.Add(Dialect.Time("now", now));
            command.Parameters.Add(Dialect.Id("id", lease.Id));
            command.Parameters.Add(Dialect.Integer("attempt", lease.Attempt));
            command.Parameters.AddRange(parameters);
            var written = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
            if (transaction is not null)
            {
                if (written)
                {
                    await AppendWebhooksAsync(connection, transaction, terminal! with { UpdatedAt = now }, cancellationToken).ConfigureAwait(false);
                }

                transaction.Commit();
            }

            return written;
        }, cancellationToken);
    }
}
