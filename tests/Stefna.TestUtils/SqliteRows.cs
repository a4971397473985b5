using Microsoft.Data.Sqlite;

namespace Stefna.TestUtils;

/// <summary>Reads row counts straight from an embedded-default data folder's SQLite file, read-only.</summary>
public static class SqliteRows
{
    /// <summary>Rows in the given type tables of <c>{dataDirectory}/stefna.db</c>; a missing file or table counts 0.</summary>
    public static long Count(string dataDirectory, IEnumerable<string> tables)
    {
        var db = Path.Combine(dataDirectory, "stefna.db");
        if (!File.Exists(db))
        {
            return 0;
        }

        using var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        connection.Open();
        long total = 0;
        foreach (var table in tables)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $name";
            command.Parameters.AddWithValue("$name", table);
            if ((long)command.ExecuteScalar()! == 0)
            {
                continue;
            }

            command.Parameters.Clear();
            command.CommandText = $"SELECT count(*) FROM \"{table.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
            total += (long)command.ExecuteScalar()!;
        }

        return total;
    }
}
