using Stefna.Sdk.Relational;
using Stefna.Sdk.Storage;

namespace Stefna.Sdk.Sqlite;

// Parking: a job an asynchronous provider accepted waits in its row (no lease, a next check time) until a poller
// claims it again without spending an attempt.
public sealed partial class SqliteMediaStore : IJobParking
{
    /// <inheritdoc />
    public Task<bool> ParkAsync(JobLease lease, string providerJobId, DateTimeOffset nextCheckAt, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(providerJobId);
        return GuardedUpdateAsync(lease, JobWrites.Park("@next_check_at"), cancellationToken, terminal: null,
            Dialect.Text("provider_job_id", providerJobId), Dialect.Time("next_check_at", nextCheckAt), Dialect.Time("deadline", deadline));
    }

    /// <inheritdoc />
    public async Task<ParkedClaim> ClaimParkedAsync(string type, int limit, TimeSpan leaseDuration, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var table = Table(type);
        return await WriteAsync("claim-parked", async connection =>
        {
            var now = _time.GetUtcNow();
            List<GenerationJob> jobs;
            using (var command = connection.CreateCommand())
            {
                // Due parked jobs, earliest first, leased in one atomic write without spending an attempt.
                command.CommandText = $"""
                    UPDATE {table.Quoted} SET {JobWrites.ClaimParked("@now", "@until")}
                    WHERE id IN (
                        SELECT id FROM {table.Quoted}
                        WHERE {JobWrites.ParkedDue("@now")}
                        ORDER BY next_check_at, id
                        LIMIT @limit)
                    RETURNING {table.Columns}
                    """;
                command.Parameters.Add(Dialect.Time("now", now));
                command.Parameters.Add(Dialect.Time("until", now + leaseDuration));
                command.Parameters.Add(Dialect.Integer("limit", limit));
                jobs = await _jobs.ReadAllAsync(command, table, limit, cancellationToken).ConfigureAwait(false);
            }

            using var next = connection.CreateCommand();
            next.CommandText = $"SELECT min(next_check_at) FROM {table.Quoted} WHERE status = 'processing' AND next_check_at IS NOT NULL";
            var earliest = await next.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return new ParkedClaim([.. jobs.Select(j => new JobLease(j))], earliest is long ticks ? Time(ticks) : null);
        }, cancellationToken).ConfigureAwait(false);
    }
}
