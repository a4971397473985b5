using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Stefna.Sdk.Pipeline;

namespace Stefna.Sdk.Testing;

/// <summary>
/// The SDK on its embedded default, in a fresh temp folder: <c>AddStefna()</c> + the generation types under test +
/// SQLite (<c>stefna.db</c>) + local files (<c>images/</c>) + the offline provider. No server, no keys, no network.
/// Tests submit through <see cref="Pipeline"/>, run the worker until the queue is empty with
/// <see cref="RunUntilIdleAsync"/>, and look at the rows and files directly. Disposing deletes the folder.
/// </summary>
/// <example>
/// <code>
/// await using var host = EmbeddedDefaultHost.Create(stefna => stefna.AddRetroPoster());
/// var ticket = await host.Pipeline.SubmitAsync(request);
/// await host.RunUntilIdleAsync(cancellationToken);
/// var row = await host.ReadRowAsync("retro_poster_media", ticket.Id, cancellationToken);
/// </code>
/// </example>
public sealed partial class EmbeddedDefaultHost : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private EmbeddedDefaultHost(ServiceProvider services, string folder)
    {
        _services = services;
        Folder = folder;
    }

    /// <summary>The temp folder holding the database and the images.</summary>
    public string Folder { get; }

    /// <summary>The SQLite database file.</summary>
    public string DatabasePath => Path.Combine(Folder, "stefna.db");

    /// <summary>The folder the local-file asset storage writes to.</summary>
    public string ImagesFolder => Path.Combine(Folder, "images");

    /// <summary>The built container.</summary>
    public IServiceProvider Services => _services;

    /// <summary>The generation pipeline.</summary>
    public IGenerationPipeline Pipeline => _services.GetRequiredService<IGenerationPipeline>();

    /// <summary>Builds the embedded default in a new temp folder.</summary>
    /// <param name="addTypes">Registers the generation types, e.g. <c>stefna =&gt; stefna.AddRetroPoster()</c>.</param>
    /// <param name="configureServices">Adds or overrides services after the composition (prompt policies, options, a
    /// <see cref="TimeProvider"/>).</param>
    /// <returns>The host; dispose it to delete the folder.</returns>
    public static EmbeddedDefaultHost Create(Action<IStefnaBuilder> addTypes, Action<IServiceCollection>? configureServices = null)
    {
        ArgumentNullException.ThrowIfNull(addTypes);
        var folder = Path.Combine(Path.GetTempPath(), "stefna-conformance", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var services = new ServiceCollection();
        // A short idle poll keeps the worker's "queue empty?" checks quick; everything else is the SDK's default.
        var builder = services.AddStefna(o => o.IdlePollInterval = TimeSpan.FromMilliseconds(50));
        addTypes(builder);
        builder
            .UseSqlite(Path.Combine(folder, "stefna.db"))
            .UseLocalFileStorage(Path.Combine(folder, "images"))
            .UseOfflineProvider();
        configureServices?.Invoke(services);
        return new EmbeddedDefaultHost(services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true }), folder);
    }

    /// <summary>Runs the worker until no registered type has a queued or processing job.</summary>
    /// <param name="cancellationToken">Stops the worker.</param>
    /// <returns>A task that completes when the queues are empty.</returns>
    public Task RunUntilIdleAsync(CancellationToken cancellationToken) =>
        _services.GetRequiredService<GenerationWorker>().RunAsync(exitWhenIdle: true, cancellationToken);

    /// <summary>Counts the rows of a table.</summary>
    /// <param name="table">The table, e.g. a type's <c>TableName</c>.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The count; 0 when the table does not exist yet.</returns>
    public async Task<long> CountRowsAsync(string table, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        if (connection is null || !await TableExistsAsync(connection, table, cancellationToken).ConfigureAwait(false))
        {
            return 0;
        }

        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM \"{CheckIdentifier(table)}\"";
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    /// <summary>Reads one row of a type table by job id, every column by name.</summary>
    /// <param name="table">The type's table.</param>
    /// <param name="id">The job id.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The row's columns (database nulls as <see langword="null"/>), or <see langword="null"/> when absent.</returns>
    public async Task<IReadOnlyDictionary<string, object?>?> ReadRowAsync(string table, Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        if (connection is null)
        {
            return null;
        }

        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT * FROM \"{CheckIdentifier(table)}\" WHERE id = @id";
        command.Parameters.AddWithValue("@id", id.ToString("D"));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var row = new Dictionary<string, object?>(StringComparer.Ordinal);
        for (var i = 0; i < reader.FieldCount; i++)
        {
            row[reader.GetName(i)] = reader.IsDBNull(i) ? null : reader.GetValue(i);
        }

        return row;
    }

    /// <summary>The column names of a table.</summary>
    /// <param name="table">The table.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The columns, in table order; empty when the table does not exist.</returns>
    public async Task<IReadOnlyList<string>> GetColumnsAsync(string table, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        if (connection is null)
        {
            return [];
        }

        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT name FROM pragma_table_info('{CheckIdentifier(table)}')";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var columns = new List<string>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            columns.Add(reader.GetString(0));
        }

        return columns;
    }

    /// <summary>Every file the asset storage has written, as paths relative to <see cref="ImagesFolder"/>.</summary>
    /// <returns>The files.</returns>
    public IReadOnlyList<string> ImageFiles() =>
        Directory.Exists(ImagesFolder)
            ? [.. Directory.GetFiles(ImagesFolder, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(ImagesFolder, f))]
            : [];

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        // Disposing the services disposes the SQLite store, which clears its own file's pool. Never
        // SqliteConnection.ClearAllPools() here: it clears every pool in the process and can dispose the native handle of
        // a connection another test's store is opening at that moment.
        await _services.DisposeAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp folder left behind is harmless.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private async Task<SqliteConnection?> OpenAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(DatabasePath))
        {
            return null;
        }

        // No pooling: the test must not keep the file open after it has looked.
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    private static async Task<bool> TableExistsAsync(SqliteConnection connection, string table, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = @name";
        command.Parameters.AddWithValue("@name", table);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture) > 0;
    }

    private static string CheckIdentifier(string table) =>
        table is not null && IdentifierPattern().IsMatch(table)
            ? table
            : throw new ArgumentException($"'{table}' is not a table name (lower-case letters, digits, underscores).", nameof(table));

    [GeneratedRegex("^[a-z][a-z0-9_]{0,62}$")]
    private static partial Regex IdentifierPattern();
}
