using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Stefna.Sdk;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Pipeline;
using Stefna.TestUtils;

namespace Stefna.Reliability.Tests;

/// <summary>
/// The real SDK as an application composes it: all five generation types, SQLite (or PostgreSQL), local file storage
/// under a fresh folder, the offline provider unless the test chooses another, and a worker running in-process.
/// Counts rows and files so a test can prove that a refused request left nothing behind.
/// </summary>
internal sealed class SdkHost : IAsyncDisposable
{
    public static readonly string[] Tables = ["neo_glitch_media", "emotion_mask_media", "presets_media", "ghibli_reaction_media", "custom_prompt_media"];

    private readonly CancellationTokenSource _stop = new();
    private Task _worker = Task.CompletedTask;

    private SdkHost(ServiceProvider services, TempDirectory data, string? postgres)
    {
        Services = services;
        Data = data;
        Postgres = postgres;
    }

    public ServiceProvider Services { get; }

    public TempDirectory Data { get; }

    public string? Postgres { get; }

    public string ImagesPath => Path.Combine(Data.Path, "images");

    public IGenerationPipeline Pipeline => Services.GetRequiredService<IGenerationPipeline>();

    public static SdkHost Start(
        Action<IStefnaBuilder>? configure = null,
        Action<StefnaOptions>? options = null,
        string? postgres = null,
        bool runWorker = true,
        ILoggerProvider? logs = null,
        LogLevel level = LogLevel.Warning)
    {
        var data = new TempDirectory();
        var services = new ServiceCollection();
        services.AddLogging(b =>
        {
            b.SetMinimumLevel(level);
            if (logs is not null)
            {
                b.AddProvider(logs);
            }
        });
        var builder = services.AddStefna(o =>
            {
                o.IdlePollInterval = TimeSpan.FromMilliseconds(50);
                o.RetryBackoff = TimeSpan.FromMilliseconds(50);
                options?.Invoke(o);
            })
            .AddNeoGlitch()
            .AddEmotionMask()
            .AddPresets()
            .AddGhibliReaction()
            .AddCustomPrompt()
            .UseLocalFileStorage(Path.Combine(data.Path, "images"))
            .UseOfflineProvider();
        if (postgres is null)
        {
            builder.UseSqlite(Path.Combine(data.Path, "stefna.db"));
        }
        else
        {
            builder.UsePostgres(postgres);
        }

        configure?.Invoke(builder);
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        var host = new SdkHost(provider, data, postgres);
        if (runWorker)
        {
            host._worker = provider.GetRequiredService<GenerationWorker>().RunAsync(exitWhenIdle: false, host._stop.Token);
        }

        return host;
    }

    public async Task<GenerationJob> RunAsync(GenerationRequest request, TimeSpan? timeout = null)
    {
        var ticket = await Pipeline.SubmitAsync(request);
        return await Pipeline.WaitForCompletionAsync(ticket.Type, ticket.Id, request.UserId, timeout ?? TimeSpan.FromSeconds(60));
    }

    /// <summary>Rows in all five type tables (0 for a table not created yet), optionally only those in one status.</summary>
    public async Task<long> CountRowsAsync(GenerationStatus? status = null)
    {
        long total = 0;
        var name = status?.ToName();
        if (Postgres is not null)
        {
            await using var pg = new NpgsqlConnection(Postgres);
            await pg.OpenAsync();
            foreach (var table in Tables)
            {
                await using var exists = new NpgsqlCommand("SELECT to_regclass(@t) IS NOT NULL", pg);
                exists.Parameters.AddWithValue("t", table);
                if (!(bool)(await exists.ExecuteScalarAsync())!)
                {
                    continue;
                }

                // Table names come from the fixed list above; the status is a parameter.
                await using var command = new NpgsqlCommand($"SELECT count(*) FROM {table} WHERE @s::text IS NULL OR status = @s::text", pg);
                command.Parameters.AddWithValue("s", (object?)name ?? DBNull.Value);
                total += (long)(await command.ExecuteScalarAsync())!;
            }

            return total;
        }

        var db = Path.Combine(Data.Path, "stefna.db");
        if (!File.Exists(db))
        {
            return 0;
        }

        await using var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        foreach (var table in Tables)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type='table' AND name=@t";
            command.Parameters.AddWithValue("@t", table);
            if ((long)(await command.ExecuteScalarAsync())! == 0)
            {
                continue;
            }

            command.Parameters.Clear();
            command.CommandText = $"SELECT count(*) FROM {table} WHERE @s IS NULL OR status = @s";
            command.Parameters.AddWithValue("@s", (object?)name ?? DBNull.Value);
            total += (long)(await command.ExecuteScalarAsync())!;
        }

        return total;
    }

    /// <summary>Every file under the data folder except the database's own files.</summary>
    public IReadOnlyList<string> StoredFiles() => [.. Data.AllFiles().Where(f => !Path.GetFileName(f).StartsWith("stefna.db", StringComparison.Ordinal))];

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _worker;
        }
        catch (OperationCanceledException)
        {
        }

        await Services.DisposeAsync();
        Data.Dispose();
        _stop.Dispose();
    }
}
