using System.Data.Common;
using System.Text;
using Stefna.Sdk.Storage;

namespace Stefna.Sdk.Relational;

/// <summary>How a store reaches its database: the only thing besides the dialect that differs between the stores
/// (SQLite: one in-process write gate and a busy retry; PostgreSQL: a data source and a connection-loss guard).</summary>
internal interface IRelationalConnection
{
    /// <summary>Runs <paramref name="read"/> with a new command on a connection of its own.</summary>
    Task<T> ReadAsync<T>(Func<DbCommand, Task<T>> read, CancellationToken cancellationToken);

    /// <summary>Runs a single-statement write with a new command on a connection of its own.</summary>
    Task<T> WriteAsync<T>(string operation, Func<DbCommand, Task<T>> write, CancellationToken cancellationToken);
}

/// <summary>The job record flows both stores share, written once: the insert with its idempotency fallback, the
/// reads, the unified feed (keyset paged, every table in one query) and the queue counts. Arguments are checked by
/// <see cref="MediaStoreChecks"/>, so both stores refuse the same input the same way.</summary>
internal sealed class RelationalJobs(RelationalDialect dialect, IRelationalConnection connection)
{
    public RelationalDialect Dialect => dialect;

    /// <summary>Inserts a queued job; when the user already has a job with its idempotency key (the insert returned no
    /// row: the database waited for that insert to commit), returns that job instead.</summary>
    public async Task<InsertResult> InsertAsync(RelationalTable table, NewGenerationJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        MediaStoreChecks.CheckInsert(table.Definition, job);
        var created = await connection.WriteAsync("insert", command =>
        {
            command.CommandText = table.Insert;
            var p = command.Parameters;
            p.Add(dialect.Id("id", job.Id));
            p.Add(dialect.Text("user_id", job.UserId));
            p.Add(dialect.Text("prompt", job.Prompt));
            p.Add(dialect.Text("preset", job.Preset));
            p.Add(dialect.Text("source_image_url", job.SourceImageUrl));
            p.Add(dialect.Tags("tags", job.Tags));
            p.Add(dialect.Json("meta", job.Meta));
            p.Add(dialect.Text("idempotency_key", job.IdempotencyKey));
            p.Add(dialect.Time("created_at", job.CreatedAt));
            var extras = table.Definition.ExtraColumns;
            for (var i = 0; i < extras.Count; i++)
            {
                p.Add(dialect.Text(RelationalTable.ExtraParameter(i), job.Columns.GetValueOrDefault(extras[i])));
            }

            dialect.AddInsertParameters(command, table.Definition.Name);
            return ReadSingleAsync(command, table, cancellationToken);
        }, cancellationToken).ConfigureAwait(false);

        if (created is not null)
        {
            return new InsertResult(created, Created: true);
        }

        // Rows are never deleted, so the earlier job is there to read.
        var existing = await FindByIdempotencyKeyAsync(table, job.UserId, job.IdempotencyKey!, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"The {job.Type} job with idempotency key '{job.IdempotencyKey}' conflicted but could not be read back.");
        return new InsertResult(existing, Created: false);
    }

    public Task<GenerationJob?> FindByIdempotencyKeyAsync(RelationalTable table, string userId, string idempotencyKey, CancellationToken cancellationToken) =>
        connection.ReadAsync(command =>
        {
            command.CommandText = table.FindByIdempotencyKey;
            command.Parameters.Add(dialect.Text("user_id", userId));
            command.Parameters.Add(dialect.Text("idempotency_key", idempotencyKey));
            return ReadSingleAsync(command, table, cancellationToken);
        }, cancellationToken);

    public Task<GenerationJob?> GetAsync(RelationalTable table, Guid id, string userId, CancellationToken cancellationToken) =>
        connection.ReadAsync(command => GetAsync(command, table, id, userId, cancellationToken), cancellationToken);

    /// <summary>Reads one job of the user with <paramref name="command"/> (on whatever connection and transaction it has).</summary>
    public Task<GenerationJob?> GetAsync(DbCommand command, RelationalTable table, Guid id, string userId, CancellationToken cancellationToken, string suffix = "")
    {
        command.CommandText = table.Get + suffix;
        command.Parameters.Add(dialect.Id("id", id));
        command.Parameters.Add(dialect.Text("user_id", userId));
        return ReadSingleAsync(command, table, cancellationToken);
    }

    /// <summary>Runs <paramref name="command"/> and reads the first row as a job of <paramref name="table"/>.</summary>
    public async Task<GenerationJob?> ReadSingleAsync(DbCommand command, RelationalTable table, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? JobRows.Read(dialect, reader, 0, table.Definition) : null;
    }

    /// <summary>Runs <paramref name="command"/> and reads every row as a job of <paramref name="table"/>.</summary>
    public async Task<List<GenerationJob>> ReadAllAsync(DbCommand command, RelationalTable table, int capacity, CancellationToken cancellationToken)
    {
        var jobs = new List<GenerationJob>(capacity);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            jobs.Add(JobRows.Read(dialect, reader, 0, table.Definition));
        }

        return jobs;
    }

    /// <summary>One page of the user's feed across the tables it names (all when none), newest first, in one query: each table
    /// gives at most limit + 1 rows through its (user_id, created_at desc, id desc) index, one outer sort merges them,
    /// and the extra row tells whether a next page exists.</summary>
    /// <param name="table">The table of a type the query names (throws for a type the store does not have).</param>
    /// <param name="all">Every table of the store, for a query that names no type.</param>
    /// <param name="query">The query.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public Task<FeedPage> QueryFeedAsync(Func<string, RelationalTable> table, IEnumerable<RelationalTable> all, FeedQuery query, CancellationToken cancellationToken)
    {
        var cursor = MediaStoreChecks.CheckFeedQuery(query);
        var tables = query.Types is { Count: > 0 } types
            ? types.Distinct(StringComparer.Ordinal).Select(table).ToArray()
            : [.. all.OrderBy(t => t.Definition.Name, StringComparer.Ordinal)];
        if (tables.Length == 0)
        {
            return Task.FromResult(new FeedPage([], null));
        }

        return connection.ReadAsync(async command =>
        {
            var filter = new StringBuilder("user_id = @user_id");
            command.Parameters.Add(dialect.Text("user_id", query.UserId));
            if (query.Status is { } status)
            {
                filter.Append(" AND status = @status");
                command.Parameters.Add(dialect.Text("status", status.ToName()));
            }

            if (query.Tag is not null)
            {
                filter.Append(" AND ").Append(dialect.HasTag("@tag"));
                command.Parameters.Add(dialect.Text("tag", query.Tag));
            }

            if (cursor is { } position)
            {
                filter.Append(" AND ").Append(dialect.Before("@cursor_at", "@cursor_id"));
                command.Parameters.Add(dialect.Time("cursor_at", position.CreatedAt));
                command.Parameters.Add(dialect.Id("cursor_id", position.Id));
            }

            const string Order = "ORDER BY created_at DESC, id DESC LIMIT @take";
            var text = new StringBuilder("SELECT * FROM (");
            for (var i = 0; i < tables.Length; i++)
            {
                var type = "type_" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                command.Parameters.Add(dialect.Text(type, tables[i].Definition.Name));
                text.Append(i == 0 ? string.Empty : " UNION ALL ")
                    .Append($"SELECT * FROM (SELECT @{type} AS job_type, {tables[i].FeedColumns} FROM {tables[i].Quoted} WHERE {filter} {Order}) AS t{i}");
            }

            command.CommandText = text.Append(") AS feed ").Append(Order).ToString();
            command.Parameters.Add(dialect.Integer("take", query.Limit + 1));

            var items = new List<GenerationJob>(query.Limit + 1);
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    items.Add(JobRows.ReadFeedRow(dialect, reader));
                }
            }

            if (items.Count <= query.Limit)
            {
                return new FeedPage(items, null);
            }

            items.RemoveAt(items.Count - 1);
            var last = items[^1];
            return new FeedPage(items, new FeedCursor(last.CreatedAt, last.Id).Encode());
        }, cancellationToken);
    }

    public Task<long> CountUnfinishedAsync(RelationalTable table, CancellationToken cancellationToken) =>
        connection.ReadAsync(async command =>
        {
            command.CommandText = table.CountUnfinished;
            return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
        }, cancellationToken);

    public Task<QueueSnapshot> GetQueueSnapshotAsync(RelationalTable table, CancellationToken cancellationToken) =>
        connection.ReadAsync(async command =>
        {
            command.CommandText = table.QueueSnapshot;
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return new QueueSnapshot(reader.GetInt64(0), dialect.ReadNullableTime(reader, 1));
        }, cancellationToken);
}
