using Stefna.Sdk.Relational;
using Stefna.Sdk.Storage;

namespace Stefna.Sdk.Sqlite;

// The cancel of a job record, which writes its webhooks in its own write transaction. The other record members
// (insert, find, get, feed) are the relational core's (RelationalStoreMembers.cs, RelationalJobs).
public sealed partial class SqliteMediaStore
{
    /// <inheritdoc />
    public Task<GenerationJob?> CancelAsync(string type, Guid id, string userId, CancellationToken cancellationToken)
    {
        var table = Table(type);
        return WriteAsync("cancel", async connection =>
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = table.Cancel("@now");
            command.Parameters.Add(Dialect.Time("now", _time.GetUtcNow()));
            command.Parameters.Add(Dialect.Id("id", id));
            command.Parameters.Add(Dialect.Text("user_id", userId));
            var canceled = await _jobs.ReadSingleAsync(command, table, cancellationToken).ConfigureAwait(false);
            if (canceled is not null)
            {
                await AppendWebhooksAsync(connection, transaction, canceled, cancellationToken).ConfigureAwait(false);
            }

            transaction.Commit();
            if (canceled is not null)
            {
                return canceled;
            }

            using var read = connection.CreateCommand();
            return await _jobs.GetAsync(read, table, id, userId, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }
}
