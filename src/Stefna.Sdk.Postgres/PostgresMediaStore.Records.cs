using Npgsql;
using Stefna.Sdk.Storage;

namespace Stefna.Sdk.Postgres;

// The cancel of a job record, which locks the row and writes its webhooks in its own transaction. The other record
// members (insert, find, get, feed) are the relational core's (RelationalStoreMembers.cs, RelationalJobs).
public sealed partial class PostgresMediaStore
{
    /// <inheritdoc />
    public async Task<GenerationJob?> CancelAsync(string type, Guid id, string userId, CancellationToken cancellationToken)
    {
        var sql = Table(type);

        // In a transaction with its webhooks; the row is locked first, so "was it unfinished" is the cancel's own answer.
        return await WithWebhooksAsync(async (connection, transaction) =>
        {
            GenerationJob? before;
            await using (var read = new NpgsqlCommand(null, connection, transaction))
            {
                before = await Guard(_jobs.GetAsync(read, sql, id, userId, cancellationToken, suffix: " FOR UPDATE")).ConfigureAwait(false);
            }

            await using var command = new NpgsqlCommand(sql.CancelOrGet, connection, transaction);
            AddStatusParameters(command, sql);
            command.Parameters.Add(Dialect.Id("id", id));
            command.Parameters.Add(Dialect.Text("user_id", userId));
            AddNow(command);
            var after = await Guard(_jobs.ReadSingleAsync(command, sql, cancellationToken)).ConfigureAwait(false);
            var canceled = before?.Status.IsTerminal() == false && after?.Status == GenerationStatus.Canceled;
            return (after, canceled ? [after! with { UpdatedAt = _time.GetUtcNow() }] : (IReadOnlyList<GenerationJob>)[]);
        }, cancellationToken).ConfigureAwait(false);
    }
}
