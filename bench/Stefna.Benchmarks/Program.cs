// Stefna benchmarks. `queue`: P1 (SDK queue throughput vs a hand-written Npgsql SKIP LOCKED loop and vs
// Hangfire.PostgreSql), P2 (end to end with local image files vs the raw loop writing the same files) and P6 (status
// read p99 vs a raw primary-key SELECT), all on one database in one run.
//   dotnet run -c Release --project bench/Stefna.Benchmarks -- queue [--postgres "<conn>"] [--jobs N] [--repeats R] [--reads M]
//     (P1 throughput, P2 end to end with files, P6 status read p99, P7 the cost of status notifications)
// `engine`: P3 (the job engine with a 2 s provider: Little's law, backlog drain, claims per job, idle cost on
// PostgreSQL and SQLite, memory per in-flight job).
//   dotnet run -c Release --project bench/Stefna.Benchmarks -- engine [--postgres "<conn>"] [--jobs N] [--idle-seconds S]
// `migrate`: P4 (legacy media_assets migration vs one hand-written INSERT … SELECT, same run; client peak memory).
//   dotnet run -c Release --project bench/Stefna.Benchmarks -- migrate [--postgres "<conn>"] [--rows N] [--batch-size B]
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Hangfire;
using Hangfire.PostgreSql;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Stefna.Benchmarks;
using Stefna.Sdk;
using Stefna.Sdk.Pipeline;
using Stefna.Sdk.Postgres;

if (args.Length > 0 && args[0] == "migrate")
{
    // P4: legacy migration vs one hand-written INSERT … SELECT (bench/Stefna.Benchmarks/MigrateBenchmark.cs).
    var pg = Arg("--postgres") ?? Environment.GetEnvironmentVariable("STEFNA_TEST_POSTGRES")
        ?? StartServer(Path.Combine(Path.GetTempPath(), "stefna-bench-pg"));
    return await MigrateBenchmark.RunAsync(pg, int.Parse(Arg("--rows") ?? "1000000", CultureInfo.InvariantCulture), int.Parse(Arg("--batch-size") ?? "50000", CultureInfo.InvariantCulture));
}

if (args.Length > 0 && args[0] == "engine")
{
    // P3: the job engine with a 2 s provider (bench/Stefna.Benchmarks/EngineBenchmark.cs).
    var engineState = Arg("--postgres") is null && Environment.GetEnvironmentVariable("STEFNA_TEST_POSTGRES") is null ? Path.Combine(Path.GetTempPath(), "stefna-bench-pg") : null;
    var pg = Arg("--postgres") ?? Environment.GetEnvironmentVariable("STEFNA_TEST_POSTGRES") ?? StartServer(engineState!);
    Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}, {CpuModel()}; load average {LoadAverage()}");
    try
    {
        return await EngineBenchmark.RunAsync(pg, int.Parse(Arg("--jobs") ?? "1000", CultureInfo.InvariantCulture), int.Parse(Arg("--idle-seconds") ?? "30", CultureInfo.InvariantCulture));
    }
    finally
    {
        Console.WriteLine($"load average at the end: {LoadAverage()}");
        if (engineState is not null)
        {
            RunScript("stop-postgres.sh", engineState);
        }
    }
}

if (args.Length == 0 || args[0] != "queue")
{
    Console.Error.WriteLine("usage: queue [--postgres <conn>] [--jobs N] [--repeats R] [--reads M] | engine [--postgres <conn>] [--jobs N] [--idle-seconds S] | migrate [--postgres <conn>] [--rows N] [--batch-size B]");
    return 2;
}

var postgres = Arg("--postgres") ?? Environment.GetEnvironmentVariable("STEFNA_TEST_POSTGRES");
var jobs = int.Parse(Arg("--jobs") ?? "2000", CultureInfo.InvariantCulture);
var repeats = int.Parse(Arg("--repeats") ?? "3", CultureInfo.InvariantCulture);
var reads = int.Parse(Arg("--reads") ?? "5000", CultureInfo.InvariantCulture);
const int Concurrency = 4;

string? stateDir = null;
if (postgres is null)
{
    stateDir = Path.Combine(Path.GetTempPath(), "stefna-bench-pg");
    postgres = StartServer(stateDir);
}

var database = "stefna_bench_" + Guid.NewGuid().ToString("N")[..12];
await AdminAsync(postgres, $"CREATE DATABASE {database}");
var connectionString = new NpgsqlConnectionStringBuilder(postgres) { Database = database }.ConnectionString;

// Both sides use the same connection settings: the SDK store's default of auto-prepared statements is given to the
// hand-written baselines too, so the ratios measure the SDK's own overhead, not a connection setting.
var rawConnectionString = new NpgsqlConnectionStringBuilder(connectionString) { MaxAutoPrepare = 64, AutoPrepareMinUsages = 2 }.ConnectionString;
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}, {CpuModel()}");
Console.WriteLine($"postgres: {await ScalarAsync<string>(connectionString, "SHOW server_version")}; jobs per run {jobs}; baseline worker loops {Concurrency}, sdk in-flight limit {new Stefna.Sdk.Configuration.GenerationTypeOptions().MaxInFlight}; repeats {repeats} (medians)");

try
{
    // The SDK runs with its default in-flight limit: one producer claims batches up to it, where the baselines run
    // Concurrency one-at-a-time claim loops.
    await using var sdk = await SdkHost.CreateAsync(connectionString, new Stefna.Sdk.Configuration.GenerationTypeOptions().MaxInFlight);
    await RawQueue.PrepareAsync(connectionString);

    // Warm-up: JIT, pools, plans.
    await sdk.RunAsync(200);
    await RawQueue.RunAsync(rawConnectionString, 200, Concurrency);

    var sdkRates = new List<double>();
    var rawRates = new List<double>();
    for (var r = 0; r < repeats; r++)
    {
        // Alternate the order so neither side always runs on a warmer/colder database.
        if (r % 2 == 0)
        {
            sdkRates.Add(await sdk.RunAsync(jobs));
            rawRates.Add(await RawQueue.RunAsync(rawConnectionString, jobs, Concurrency));
        }
        else
        {
            rawRates.Add(await RawQueue.RunAsync(rawConnectionString, jobs, Concurrency));
            sdkRates.Add(await sdk.RunAsync(jobs));
        }

        Console.WriteLine($"  run {r + 1}: sdk {sdkRates[^1]:F0} jobs/s ({SdkHost.LastPhases}), raw {rawRates[^1]:F0} jobs/s ({RawQueue.LastPhases})");
    }

    var hangfireRates = new List<double>();
    using (var hangfire = HangfireHost.Create(connectionString, Concurrency))
    {
        await hangfire.RunAsync(200);
        for (var r = 0; r < repeats; r++)
        {
            hangfireRates.Add(await hangfire.RunAsync(jobs));
            Console.WriteLine($"  run {r + 1}: hangfire {hangfireRates[^1]:F0} jobs/s");
        }
    }

    var sdkRate = Median(sdkRates);
    var rawRate = Median(rawRates);
    var hangfireRate = Median(hangfireRates);
    Console.WriteLine($"P1 sdk throughput: {sdkRate:F0} jobs/s (submit + claim + complete, {jobs} jobs)");
    Console.WriteLine($"P1 raw Npgsql SKIP LOCKED throughput: {rawRate:F0} jobs/s");
    Console.WriteLine($"P1 Hangfire.PostgreSql throughput: {hangfireRate:F0} jobs/s");
    Console.WriteLine($"P1 sdk/raw: {sdkRate / rawRate:F2} (goal >= 1.0)");
    Console.WriteLine($"P1 sdk/hangfire: {sdkRate / hangfireRate:F2} (goal >= 8)");

    // P7: the cost of status notifications (one pg_notify per claimed and per completed job, for WatchAsync on other
    // hosts): the same SDK run with NotifyStatusChanges on (the default) and off, alternating.
    await using (var quiet = await SdkHost.CreateAsync(connectionString, new Stefna.Sdk.Configuration.GenerationTypeOptions().MaxInFlight, notifyStatus: false))
    {
        await quiet.RunAsync(200);
        var on = new List<double>();
        var off = new List<double>();
        for (var r = 0; r < repeats; r++)
        {
            if (r % 2 == 0)
            {
                on.Add(await sdk.RunAsync(jobs));
                off.Add(await quiet.RunAsync(jobs));
            }
            else
            {
                off.Add(await quiet.RunAsync(jobs));
                on.Add(await sdk.RunAsync(jobs));
            }

            Console.WriteLine($"  run {r + 1}: status notifications on {on[^1]:F0} jobs/s, off {off[^1]:F0} jobs/s");
        }

        Console.WriteLine($"P7 status notifications on/off throughput: {Median(on) / Median(off):F2} (goal >= 0.90)");
    }

    // P2: end to end with a 0 ms provider and local image files, SDK vs the raw loop writing the same files.
    var images = Path.Combine(Path.GetTempPath(), "stefna-p2-" + Guid.NewGuid().ToString("N")[..8]);
    Directory.CreateDirectory(Path.Combine(images, "raw"));
    try
    {
        await using var sdkFiles = await SdkHost.CreateAsync(connectionString, new Stefna.Sdk.Configuration.GenerationTypeOptions().MaxInFlight, images);
        await sdkFiles.RunAsync(200);
        await RawQueue.RunAsync(rawConnectionString, 200, Concurrency, images);
        var sdkP2 = new List<double>();
        var rawP2 = new List<double>();
        for (var r = 0; r < repeats; r++)
        {
            rawP2.Add(await RawQueue.RunAsync(rawConnectionString, jobs, Concurrency, images));
            sdkP2.Add(await sdkFiles.RunAsync(jobs));
            Console.WriteLine($"  run {r + 1}: end to end with files: sdk {sdkP2[^1]:F0} jobs/s ({SdkHost.LastPhases}), raw {rawP2[^1]:F0} jobs/s ({RawQueue.LastPhases})");
        }

        Console.WriteLine($"P2 end-to-end sdk/raw: {Median(sdkP2) / Median(rawP2):F2} (goal >= 0.9)");
    }
    finally
    {
        Directory.Delete(images, recursive: true);
    }

    // P6: status reads of completed jobs, alternating SDK and raw per batch.
    var ids = await sdk.SampleIdsAsync(500);
    var sdkP99 = new List<double>();
    var rawP99 = new List<double>();
    await StatusReads.RunAsync(sdk, rawConnectionString, ids, 1000);
    for (var r = 0; r < repeats; r++)
    {
        var (sp99, rp99, sp50, rp50) = await StatusReads.RunAsync(sdk, rawConnectionString, ids, reads);
        sdkP99.Add(sp99);
        rawP99.Add(rp99);
        Console.WriteLine($"  run {r + 1}: status p99 sdk {sp99:F1} µs, raw {rp99:F1} µs (p50 sdk {sp50:F1} µs, raw {rp50:F1} µs)");
    }

    var sdkP = Median(sdkP99);
    var rawP = Median(rawP99);
    Console.WriteLine($"P6 status read p99: sdk {sdkP:F1} µs, raw primary-key SELECT {rawP:F1} µs ({reads} reads per run)");
    Console.WriteLine($"P6 status read p99 sdk/raw: {sdkP / rawP:F2} (goal <= 1.15)");
}
finally
{
    NpgsqlConnection.ClearAllPools();
    await AdminAsync(postgres, $"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
    if (stateDir is not null)
    {
        RunScript("stop-postgres.sh", stateDir);
    }
}

return 0;

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}

static async Task AdminAsync(string connectionString, string sql)
{
    await using var connection = new NpgsqlConnection(connectionString);
    await connection.OpenAsync();
    await using var command = new NpgsqlCommand(sql, connection);
    await command.ExecuteNonQueryAsync();
}

static async Task<T> ScalarAsync<T>(string connectionString, string sql)
{
    await using var connection = new NpgsqlConnection(connectionString);
    await connection.OpenAsync();
    await using var command = new NpgsqlCommand(sql, connection);
    return (T)(await command.ExecuteScalarAsync())!;
}

static string CpuModel()
{
    try
    {
        return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
    }
    catch (IOException)
    {
        return "unknown CPU";
    }
}

static string LoadAverage()
{
    try
    {
        return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
    }
    catch (IOException)
    {
        return "unknown";
    }
}

static string StartServer(string stateDir)
{
    var output = RunScript("start-postgres.sh", stateDir);
    var line = output.Split('\n').LastOrDefault(l => l.StartsWith("STEFNA_TEST_POSTGRES=", StringComparison.Ordinal))
        ?? throw new InvalidOperationException("eng/start-postgres.sh did not start PostgreSQL:\n" + output);
    return line["STEFNA_TEST_POSTGRES=".Length..].Trim();
}

static string RunScript(string name, string stateDir)
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "eng", name)))
    {
        dir = dir.Parent;
    }

    if (dir is null)
    {
        throw new InvalidOperationException($"eng/{name} not found; pass --postgres <conn>.");
    }

    var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, UseShellExecute = false };
    start.ArgumentList.Add(Path.Combine(dir.FullName, "eng", name));
    start.Environment["STEFNA_PG_DIR"] = stateDir;
    using var process = Process.Start(start)!;
    var text = process.StandardOutput.ReadToEnd();
    process.WaitForExit();
    return text;
}

/// <summary>The SDK composed as an application would: pipeline + worker + PostgreSQL store, no-op provider and storage.</summary>
internal sealed class SdkHost : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    private SdkHost(ServiceProvider provider) => _provider = provider;

    public static string LastPhases { get; private set; } = string.Empty;

    public IGenerationPipeline Pipeline => _provider.GetRequiredService<IGenerationPipeline>();

    public static async Task<SdkHost> CreateAsync(string connectionString, int inFlight, string? imagesRoot = null, bool notifyStatus = true)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        var builder = services.AddStefna(o => o.IdlePollInterval = TimeSpan.FromMilliseconds(50))
            .AddGenerator<NoopGenerator>(NoopGenerator.TypeName, t => t.MaxInFlight = inFlight)
            .UsePostgres(o =>
            {
                o.ConnectionString = connectionString;
                o.NotifyStatusChanges = notifyStatus;
            })
            .UseProvider(_ => new NoopProvider());
        _ = imagesRoot is null ? builder.UseAssetStorage(_ => new NullAssetStorage()) : builder.UseLocalFileStorage(imagesRoot);
        var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<PostgresMediaStore>().MigrateAsync([NoopGenerator.TypeDefinition]);
        return new SdkHost(provider);
    }

    /// <summary>Submits N jobs through the pipeline (Concurrency at a time), then lets the worker drain them.</summary>
    /// <returns>Jobs per second over both phases.</returns>
    public async Task<double> RunAsync(int jobs)
    {
        var pipeline = Pipeline;
        var worker = _provider.GetRequiredService<GenerationWorker>();
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, jobs), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, ct) =>
            await pipeline.SubmitAsync(new GenerationRequest { Type = NoopGenerator.TypeName, UserId = "bench-user-" + (i % 16), Prompt = "p" }, ct));
        var submitted = watch.Elapsed;
        await worker.RunAsync(exitWhenIdle: true, CancellationToken.None);
        watch.Stop();
        LastPhases = $"submit {submitted.TotalMilliseconds:F0} ms, drain {(watch.Elapsed - submitted).TotalMilliseconds:F0} ms";
        return jobs / watch.Elapsed.TotalSeconds;
    }

    public async Task<List<(Guid Id, string User)>> SampleIdsAsync(int count)
    {
        var store = _provider.GetRequiredService<PostgresMediaStore>();
        var result = new List<(Guid, string)>();
        await using var command = store.DataSource.CreateCommand("SELECT id, user_id FROM bench_noop_media ORDER BY random() LIMIT @n");
        command.Parameters.AddWithValue("n", count);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            result.Add((reader.GetGuid(0), reader.GetString(1)));
        }

        return result;
    }

    public async ValueTask DisposeAsync() => await _provider.DisposeAsync();
}

/// <summary>The baseline: the same queue work written by hand against Npgsql.</summary>
internal static class RawQueue
{
    public static string LastPhases { get; private set; } = string.Empty;

    public static async Task PrepareAsync(string connectionString)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        // The same shape as the SDK's type table (columns, defaults, checks and all five DESIGN indexes), so the ratio
        // measures the SDK's own overhead rather than the cost of the indexes the design requires.
        await using var command = dataSource.CreateCommand("CREATE TABLE IF NOT EXISTS raw_jobs (LIKE bench_noop_media INCLUDING ALL)");
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Inserts N rows (Concurrency at a time), then Concurrency loops claim and complete until none is left.</summary>
    public static async Task<double> RunAsync(string connectionString, int jobs, int concurrency, string? imagesRoot = null)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, jobs), new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, ct) =>
        {
            await using var insert = dataSource.CreateCommand("INSERT INTO raw_jobs (id, user_id, status, prompt, tags, meta, created_at, updated_at) VALUES (@id, @user, 'queued', 'p', ARRAY['bench-noop'], '{}', now(), now())");
            insert.Parameters.AddWithValue("id", Guid.CreateVersion7());
            insert.Parameters.AddWithValue("user", "bench-user-" + (i % 16));
            await insert.ExecuteNonQueryAsync(ct);
        });

        var inserted = watch.Elapsed;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            while (true)
            {
                Guid id;
                int attempts;
                await using (var claim = dataSource.CreateCommand("""
                    UPDATE raw_jobs SET status = 'processing', attempts = attempts + 1, lease_until = now() + interval '60 seconds', updated_at = now()
                    WHERE id = (SELECT id FROM raw_jobs WHERE status IN ('queued','processing') AND ((status = 'queued' AND (lease_until IS NULL OR lease_until <= now())) OR (status = 'processing' AND lease_until < now())) ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
                    RETURNING id, attempts
                    """))
                await using (var reader = await claim.ExecuteReaderAsync())
                {
                    if (!await reader.ReadAsync())
                    {
                        return;
                    }

                    id = reader.GetGuid(0);
                    attempts = reader.GetInt32(1);
                }

                await using var complete = dataSource.CreateCommand("""
                    UPDATE raw_jobs SET status = 'completed', image_url = @url, meta = meta || @meta::jsonb, lease_until = NULL, updated_at = now()
                    WHERE id = @id AND status = 'processing' AND attempts = @attempts
                    """);
                var url = "null://" + id;
                if (imagesRoot is not null)
                {
                    // P2: the same file work as the SDK's local storage (temporary file, then moved into place).
                    var path = Path.Combine(imagesRoot, "raw", $"{id}-{attempts}.png");
                    var temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
                    await File.WriteAllBytesAsync(temp, NoopProvider.Png);
                    File.Move(temp, path, overwrite: true);
                    url = new Uri(path).AbsoluteUri;
                }

                complete.Parameters.AddWithValue("url", url);
                complete.Parameters.AddWithValue("meta", """{"asset_id":"x","width":"1","height":"1","format":"png","provider":"noop"}""");
                complete.Parameters.AddWithValue("id", id);
                complete.Parameters.AddWithValue("attempts", attempts);
                await complete.ExecuteNonQueryAsync();
            }
        })));
        watch.Stop();
        LastPhases = $"insert {inserted.TotalMilliseconds:F0} ms, drain {(watch.Elapsed - inserted).TotalMilliseconds:F0} ms";
        return jobs / watch.Elapsed.TotalSeconds;
    }
}

/// <summary>Hangfire.PostgreSql running the same number of no-op jobs with the same worker count.</summary>
internal sealed class HangfireHost : IDisposable
{
    private readonly BackgroundJobServer _server;
    private readonly BackgroundJobClient _client;

    private HangfireHost(BackgroundJobServer server, BackgroundJobClient client)
    {
        _server = server;
        _client = client;
    }

    public static HangfireHost Create(string connectionString, int workers)
    {
        var options = new PostgreSqlStorageOptions
        {
            SchemaName = "hangfire",
            PrepareSchemaIfNecessary = true,
            QueuePollInterval = TimeSpan.FromMilliseconds(50),
        };
        var storage = new PostgreSqlStorage(new Hangfire.PostgreSql.Factories.NpgsqlConnectionFactory(connectionString, options), options);
        GlobalConfiguration.Configuration.UseStorage(storage).UseSimpleAssemblyNameTypeSerializer().UseRecommendedSerializerSettings();
        var server = new BackgroundJobServer(new BackgroundJobServerOptions { WorkerCount = workers, SchedulePollingInterval = TimeSpan.FromSeconds(1) }, storage);
        return new HangfireHost(server, new BackgroundJobClient(storage));
    }

    public async Task<double> RunAsync(int jobs)
    {
        var all = HangfireNoopJob.Reset(jobs);
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, jobs), new ParallelOptions { MaxDegreeOfParallelism = 4 }, (_, _) =>
        {
            _client.Enqueue(() => HangfireNoopJob.Run());
            return ValueTask.CompletedTask;
        });
        if (await Task.WhenAny(all, Task.Delay(TimeSpan.FromMinutes(10))) != all)
        {
            throw new TimeoutException("Hangfire did not finish the jobs within 10 minutes.");
        }

        watch.Stop();
        return jobs / watch.Elapsed.TotalSeconds;
    }

    public void Dispose() => _server.Dispose();
}

/// <summary>P6: latency of one status read, through the SDK and as a raw primary-key SELECT. The two alternate read
/// by read, so both see the same machine noise.</summary>
internal static class StatusReads
{
    public static async Task<(double SdkP99, double RawP99, double SdkP50, double RawP50)> RunAsync(SdkHost sdk, string rawConnectionString, List<(Guid Id, string User)> ids, int reads)
    {
        var pipeline = sdk.Pipeline;
        await using var dataSource = NpgsqlDataSource.Create(rawConnectionString);
        var sdkSamples = new double[reads];
        var rawSamples = new double[reads];
        for (var i = 0; i < reads; i++)
        {
            var (id, user) = ids[i % ids.Count];
            var start = Stopwatch.GetTimestamp();
            _ = await pipeline.GetStatusAsync(NoopGenerator.TypeName, id, user) ?? throw new InvalidOperationException("missing job");
            sdkSamples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;

            start = Stopwatch.GetTimestamp();
            await using (var command = dataSource.CreateCommand("SELECT * FROM bench_noop_media WHERE id = @id"))
            {
                command.Parameters.AddWithValue("id", id);
                await using var reader = await command.ExecuteReaderAsync();
                if (!await reader.ReadAsync())
                {
                    throw new InvalidOperationException("missing job");
                }

                var values = new object[reader.FieldCount];
                reader.GetValues(values);
            }

            rawSamples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        Array.Sort(sdkSamples);
        Array.Sort(rawSamples);
        return (Percentile(sdkSamples, 0.99), Percentile(rawSamples, 0.99), Percentile(sdkSamples, 0.5), Percentile(rawSamples, 0.5));
    }

    private static double Percentile(double[] sorted, double p) => sorted[(int)Math.Ceiling(sorted.Length * p) - 1];
}
