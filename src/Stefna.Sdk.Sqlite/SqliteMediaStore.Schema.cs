using System.Text;
using Microsoft.Data.Sqlite;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Relational;

namespace Stefna.Sdk.Sqlite;

// The schema: the file check, and each type's table made from the relational core's column schema (JobSchema), then
// upgraded in place with the columns a newer version of the type or the store added.
public sealed partial class SqliteMediaStore
{
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

    private async Task CreateTypeTableAsync(SqliteConnection connection, SqliteTransaction transaction, GenerationTypeDefinition definition, CancellationToken cancellationToken)
    {
        var table = RelationalDialect.Quote(definition.TableName);
        string presetReference = string.Empty;
        if (definition.Catalog is { } catalog)
        {
            var catalogTable = RelationalDialect.Quote(catalog.TableName);
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

        // The common columns in schema order with SQLite's constraints, then the type's own (all text).
        var columns = new StringBuilder();
        foreach (var column in JobSchema.Columns)
        {
            var constraint = column.Name switch
            {
                "id" => " PRIMARY KEY",
                "status" => " CHECK (status IN ('queued', 'processing', 'completed', 'failed', 'canceled'))",
                "preset" => presetReference,
                "tags" => " DEFAULT '[]'",
                "meta" => " DEFAULT '{}'",
                "attempts" => " DEFAULT 0",
                _ => string.Empty,
            };
            columns.Append(columns.Length == 0 ? "\n    " : ",\n    ").Append(column.Name).Append(' ').Append(Dialect.TypeName(column.Type))
                .Append(column.Nullable ? string.Empty : " NOT NULL").Append(constraint);
        }

        foreach (var extra in definition.ExtraColumns)
        {
            columns.Append(",\n    ").Append(RelationalDialect.Quote(extra)).Append(' ').Append(Dialect.TypeName(ColumnType.Text));
        }

        await ExecuteAsync(connection, $"CREATE TABLE IF NOT EXISTS {table} ({columns}\n) STRICT;", cancellationToken, transaction).ConfigureAwait(false);

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
            await ExecuteAsync(connection, $"ALTER TABLE {table} ADD COLUMN {parking} {Dialect.TypeName(ColumnType.Timestamp)};", cancellationToken, transaction).ConfigureAwait(false);
            Log.ColumnAdded(_logger, definition.TableName, parking);
        }

        foreach (var extra in definition.ExtraColumns.Where(c => !existing.Contains(c)))
        {
            await ExecuteAsync(connection, $"ALTER TABLE {table} ADD COLUMN {RelationalDialect.Quote(extra)} {Dialect.TypeName(ColumnType.Text)};", cancellationToken, transaction).ConfigureAwait(false);
            Log.ColumnAdded(_logger, definition.TableName, extra);
        }

        var name = definition.TableName;
        await ExecuteAsync(connection, $"""
            CREATE INDEX IF NOT EXISTS {IndexName("ix_" + name + "_claim")} ON {table} (status, lease_until, created_at);
            CREATE INDEX IF NOT EXISTS {IndexName("ix_" + name + "_feed")} ON {table} (user_id, created_at DESC, id DESC);
            CREATE INDEX IF NOT EXISTS {IndexName("ix_" + name + "_parked")} ON {table} (next_check_at) WHERE next_check_at IS NOT NULL;
            CREATE UNIQUE INDEX IF NOT EXISTS {IndexName("ux_" + name + "_idempotency")} ON {table} (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
            """, cancellationToken, transaction).ConfigureAwait(false);
    }

    // Derived from a validated table name; SQLite has no length limit on names (PostgreSQL's rule does not apply).
    private static string IndexName(string name) => "\"" + name + "\"";
}
