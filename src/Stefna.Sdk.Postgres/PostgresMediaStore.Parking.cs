using Npgsql;
using Stefna.Sdk.Relational;
using Stefna.Sdk.Storage;

namespace Stefna.Sdk.Postgres;

// Parking: a job an asynchronous provider accepted waits in its row (no lease, a next check time) until a poller of
// any host claims it again without spending an attempt.
public sealed partial class PostgresMediaStore : IJobParking
{
    /// <inheritdoc />
    public Task<bool> ParkAsync(JobLease lease, string providerJobId, DateTimeOffset nextCheckAt, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentException.ThrowIfNullOrEmpty(providerJobId);
        var delay = nextCheckAt - _time.GetUtcNow();
        return GuardedWriteAsync(Table(lease.Type).Park, lease, cancellationToken,
            Dialect.Text("provider_job_id", providerJobId),
            new NpgsqlParameter<TimeSpan>("delay", delay < TimeSpan.Zero ? TimeSpan.Zero : delay),
            Dialect.Time("next_check_at", nextCheckAt),
            Dialect.Time("deadline", deadline));
    }

    /// <inheritdoc />
    public async Task<ParkedClaim> ClaimParkedAsync(string type, int limit, TimeSpan leaseDuration, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var sql = Table(type);
        await using var command = _dataSource.CreateCommand(sql.ClaimParked);
        command.Parameters.Add(Dialect.Integer("limit", limit));
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
                    (leases ??= new List<JobLease>(limit)).Add(new JobLease(JobRows.Read(Dialect, reader, 1, sql.Definition)));
                }
            }

            // The distance, not the database's time: the caller waits on its own clock.
            return new ParkedClaim(leases ?? (IReadOnlyList<JobLease>)[], nextIn is { } wait ? _time.GetUtcNow() + wait : null);
        }).ConfigureAwait(false);
    }
}
