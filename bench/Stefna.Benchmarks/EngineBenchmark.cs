using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Stefna.Sdk;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Pipeline;
using Stefna.Sdk.Postgres;
using Stefna.Sdk.Providers;
using Stefna.Sdk.Sqlite;
using Stefna.Sdk.Storage;

namespace Stefna.Benchmarks;

/// <summary>
/// P3: the job engine with a slow provider, on PostgreSQL (and SQLite for the idle cost), in one run:
/// <list type="bullet">
/// <item>little-law ratio: 1,000 jobs submitted while the worker runs, provider 2 s, in-flight limit 1,000. Throughput ÷
/// (mean jobs held ÷ 2 s), i.e. 2 s ÷ the mean time the engine holds a job: 1.0 when holding a job costs nothing beyond
/// the provider call;</item>
/// <item>backlog drain: 1,000 jobs queued before the worker starts; wall ÷ 2 s;</item>
/// <item>claims per job (store claim calls of the little-law run ÷ jobs);</item>
/// <item>idle queries per second: 5 types, limit 1,000 each, 30 s idle, transactions counted by PostgreSQL
/// (<c>pg_stat_database</c>); and idle store calls per second on SQLite, counted by a proxy around the store;</item>
/// <item>bytes per in-flight job: managed heap after a forced GC with 1,000 jobs held at the provider, minus the same
/// host idle;</item>
/// <item>parked bytes per job: 10,000 jobs accepted by an asynchronous provider and parked in the store, managed heap
/// after a forced GC minus the same host idle (after 1,000 jobs went through parking and completion once), ÷ 10,000; then
/// every parked job is made due and completed (checked: all completed, one submit each).</item>
/// </list>
/// <code>dotnet run -c Release --project bench/Stefna.Benchmarks -- engine [--postgres "&lt;conn&gt;"] [--jobs 1000] [--idle-seconds 30]</code>
/// </summary>
internal static class EngineBenchmark
{
    private static readonly TimeSpan ProviderLatency = TimeSpan.FromSeconds(2);
    private const int ParkedJobs = 10_000;

    public static async Task<int> RunAsync(string postgres, int jobs, int idleSeconds)
    {
        var database = "stefna_p3_" + Guid.NewGuid().ToString("N")[..12];
        await AdminAsync(postgres, $"CREATE DATABASE {database}");
        var connectionString = new NpgsqlConnectionStringBuilder(postgres) { Database = database }.ConnectionString;
        var sqliteDir = Path.Combine(Path.GetTempPath(), "stefna-p3-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            Console.WriteLine($"engine: {jobs} jobs, provider {ProviderLatency.TotalSeconds:0} s (Task.Delay), in-flight limit {jobs}; idle {idleSeconds} s with 5 types");

            // Little's law: jobs submitted while the worker runs.
            double ratio, claimsPerJob, latency;
            await using (var host = await Host.CreateAsync(connectionString, [SlowTypes.Definitions[0]], jobs, new DelayProvider(ProviderLatency)))
            {
                using var stop = new CancellationTokenSource();
                var running = host.Worker.RunAsync(exitWhenIdle: false, stop.Token);
                await host.WaitForFirstClaimAsync();
                var claimsBefore = host.Worker.ClaimCalls;
                var sampler = new InFlightSampler(host.Worker);
                var samplerTask = sampler.RunAsync(host.Worker.CompletedRuns + jobs);
                await host.SubmitAsync(jobs, SlowTypes.Definitions[0].Name);
                var window = await samplerTask;
                claimsPerJob = (host.Worker.ClaimCalls - claimsBefore) / (double)jobs;
                var throughput = jobs / window.TotalSeconds;
                ratio = throughput / (sampler.MeanInFlight / ProviderLatency.TotalSeconds);
                latency = await host.MeanLatencySecondsAsync(SlowTypes.Definitions[0]);
                Console.WriteLine($"  little-law run: window {window.TotalSeconds:F2} s, throughput {throughput:F0} jobs/s, mean held {sampler.MeanInFlight:F0}, mean submit-to-complete {latency:F2} s, claims {claimsPerJob * jobs:F0}");
                await stop.CancelAsync();
                await running;
            }

            // Backlog: all queued before the worker starts.
            double drain, drainClaims;
            await using (var host = await Host.CreateAsync(connectionString, [SlowTypes.Definitions[1]], jobs, new DelayProvider(ProviderLatency)))
            {
                await host.SubmitAsync(jobs, SlowTypes.Definitions[1].Name);
                var start = Stopwatch.GetTimestamp();
                await host.Worker.RunAsync(exitWhenIdle: true, CancellationToken.None);
                var wall = Stopwatch.GetElapsedTime(start);
                drain = wall.TotalSeconds / ProviderLatency.TotalSeconds;
                drainClaims = host.Worker.ClaimCalls / (double)jobs;
                var (entered, left) = ((DelayProvider)host.Provider).Last;
                Console.WriteLine($"  backlog run: wall {wall.TotalSeconds:F2} s (last job into the provider at {Stopwatch.GetElapsedTime(start, entered).TotalSeconds:F2} s, last out at {Stopwatch.GetElapsedTime(start, left).TotalSeconds:F2} s), claims {host.Worker.ClaimCalls}");
            }

            // Memory per job held at the provider.
            double bytesPerJob;
            await using (var host = await Host.CreateAsync(connectionString, [SlowTypes.Definitions[2]], jobs, new GateProvider()))
            {
                var gate = (GateProvider)host.Provider;
                using var stop = new CancellationTokenSource();
                var running = host.Worker.RunAsync(exitWhenIdle: false, stop.Token);

                // Warm-up: the same number of jobs through once, so pools, caches and JIT are settled.
                gate.Open();
                await host.SubmitAsync(jobs, SlowTypes.Definitions[2].Name);
                await host.WaitForCompletedAsync(jobs);
                gate.Close();
                await Task.Delay(TimeSpan.FromSeconds(1));
                var idle = Heap();
                await host.SubmitAsync(jobs, SlowTypes.Definitions[2].Name);
                await gate.WaitForEnteredAsync(jobs);
                var held = Heap();
                if (Environment.GetEnvironmentVariable("STEFNA_BENCH_HOLD_SECONDS") is { } hold)
                {
                    // For a heap snapshot (dotnet-gcdump) of the held state.
                    Console.WriteLine($"  holding {jobs} jobs for {hold} s (pid {Environment.ProcessId})");
                    await Task.Delay(TimeSpan.FromSeconds(int.Parse(hold, CultureInfo.InvariantCulture)));
                }

                bytesPerJob = (held - idle) / (double)jobs;
                Console.WriteLine($"  memory run: heap idle {idle / 1024.0:F0} KiB, with {host.Worker.InFlight} held {held / 1024.0:F0} KiB");
                gate.Open();
                await host.WaitForCompletedAsync(2 * jobs);
                await stop.CancelAsync();
                await running;
            }

            // Memory per parked job.
            var parkedBytesPerJob = await ParkedAsync(connectionString, jobs);

            // Idle cost, PostgreSQL and SQLite side by side in the same 30 s.
            var (pgPerSecond, pgStoreCalls, sqlitePerSecond) = await IdleAsync(postgres, connectionString, database, sqliteDir, jobs, idleSeconds);

            Console.WriteLine($"P3 little-law ratio: {ratio:F2} (goal >= 0.9)");
            Console.WriteLine($"P3 backlog drain vs ideal: {drain:F2} (goal <= 1.3)");
            Console.WriteLine($"P3 claims per job: {claimsPerJob:F3} (goal <= 1.1)");
            Console.WriteLine($"  backlog run claims per job: {drainClaims:F3}; idle PostgreSQL store calls per second: {pgStoreCalls:F2}");
            Console.WriteLine($"P3 idle queries per second: {pgPerSecond:F2} (goal <= 5.5)");
            Console.WriteLine($"P3 idle store calls per second sqlite: {sqlitePerSecond:F2} (goal <= 5.5)");
            Console.WriteLine($"P3 bytes per in-flight job: {bytesPerJob:F0} (goal <= 4096)");
            Console.WriteLine($"P3 parked bytes per job: {parkedBytesPerJob:F0} (goal <= 1024)");
            return 0;
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await AdminAsync(postgres, $"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
            if (Directory.Exists(sqliteDir))
            {
                Directory.Delete(sqliteDir, recursive: true);
            }
        }
    }

    private static async Task<(double PgTransactionsPerSecond, double PgStoreCallsPerSecond, double SqliteCallsPerSecond)> IdleAsync(
        string postgres, string connectionString, string database, string sqliteDir, int limit, int seconds)
    {
        var types = SlowTypes.Definitions;
        await using var pg = await Host.CreateAsync(connectionString, types, limit, new DelayProvider(ProviderLatency));
        await using var sqlite = await Host.CreateSqliteAsync(Path.Combine(sqliteDir, "idle.db"), types, limit);
        using var stop = new CancellationTokenSource();
        var pgRunning = pg.Worker.RunAsync(exitWhenIdle: false, stop.Token);
        var sqliteRunning = sqlite.Worker.RunAsync(exitWhenIdle: false, stop.Token);

        // Settle: start-up claims, LISTEN connected, and PostgreSQL's per-backend statistics flushed (idle backends
        // report at most every ~10 s, so both ends of the window are read after such a pause).
        await Task.Delay(TimeSpan.FromSeconds(12));
        var xact0 = await TransactionsAsync(postgres, database);
        var pgCalls0 = pg.Calls.Count;
        var sqliteCalls0 = sqlite.Calls.Count;
        var watch = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(seconds));
        var pgCalls = pg.Calls.Count - pgCalls0;
        var sqliteCalls = sqlite.Calls.Count - sqliteCalls0;
        var elapsed = watch.Elapsed.TotalSeconds;
        await Task.Delay(TimeSpan.FromSeconds(11));
        var xact = await TransactionsAsync(postgres, database) - xact0;

        // The reading above ran on the maintenance database, so it is not in the count; the 11 s after the window let
        // the window's own transactions reach the statistics, and add the same pause's worth, so scale to the window.
        var perSecond = xact / (elapsed + 11);
        await stop.CancelAsync();
        await Task.WhenAll(pgRunning, sqliteRunning);
        Console.WriteLine($"  idle run: {elapsed:F1} s; PostgreSQL {xact} transactions (incl. {11} s after), {pgCalls} store calls; SQLite {sqliteCalls} store calls");
        return (perSecond, pgCalls / elapsed, sqliteCalls / elapsed);
    }

    private static async Task<double> ParkedAsync(string connectionString, int limit)
    {
        var type = SlowTypes.Definitions[3];
        var provider = new ParkingProvider();
        await using var host = await Host.CreateAsync(connectionString, [type], limit, provider);
        using var stop = new CancellationTokenSource();
        var running = host.Worker.RunAsync(exitWhenIdle: false, stop.Token);

        // Warm-up: 1,000 jobs parked, made due, completed.
        await host.SubmitAsync(limit, type.Name);
        await host.WaitForParkedAsync(limit);
        await host.MakeParkedDueAsync(type);
        await host.WaitForCompletedCountAsync(type, limit);
        await Task.Delay(TimeSpan.FromSeconds(1));
        var idle = Heap();

        var parkStart = Stopwatch.GetTimestamp();
        await host.SubmitAsync(ParkedJobs, type.Name);
        await host.WaitForParkedAsync(limit + ParkedJobs);
        var parkWall = Stopwatch.GetElapsedTime(parkStart);
        var held = Heap();
        var parkedRows = await host.CountAsync(type, "status = 'processing' AND next_check_at IS NOT NULL AND lease_until IS NULL");
        Console.WriteLine($"  parked run: {ParkedJobs} submitted and parked in {parkWall.TotalSeconds:F1} s ({parkedRows} parked rows, {host.Worker.InFlight} held); heap idle {idle / 1024.0:F0} KiB, parked {held / 1024.0:F0} KiB");

        var completeStart = Stopwatch.GetTimestamp();
        await host.MakeParkedDueAsync(type);
        await host.WaitForCompletedCountAsync(type, limit + ParkedJobs);
        await Task.Delay(TimeSpan.FromSeconds(1));
        var after = Heap();
        Console.WriteLine($"  parked jobs made due: all {limit + ParkedJobs} completed in {Stopwatch.GetElapsedTime(completeStart).TotalSeconds:F1} s; provider submits {provider.Submits}, polls {provider.Polls}; parked-claim calls {host.Worker.ParkedClaimCalls}; heap after {after / 1024.0:F0} KiB");
        if (provider.Submits != limit + ParkedJobs)
        {
            throw new InvalidOperationException($"expected one submit per job, saw {provider.Submits} for {limit + ParkedJobs} jobs");
        }

        await stop.CancelAsync();
        await running;
        return (held - idle) / (double)ParkedJobs;
    }

    private static long Heap()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static async Task<long> TransactionsAsync(string postgres, string database)
    {
        await using var connection = new NpgsqlConnection(postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = @db", connection);
        command.Parameters.AddWithValue("db", database);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task AdminAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>One composed SDK host (pipeline + worker, not started as a hosted service) with a counted store.</summary>
    private sealed class Host : IAsyncDisposable
    {
        private readonly ServiceProvider _services;

        private Host(ServiceProvider services, IImageProvider provider, CallCounter calls)
        {
            _services = services;
            Provider = provider;
            Calls = calls;
        }

        public IImageProvider Provider { get; }

        public CallCounter Calls { get; }

        public GenerationWorker Worker => _services.GetRequiredService<GenerationWorker>();

        public static async Task<Host> CreateAsync(string connectionString, IReadOnlyList<GenerationTypeDefinition> types, int limit, IImageProvider provider)
        {
            var calls = new CallCounter();
            var builder = Compose(types, limit, provider).UsePostgres(connectionString);
            builder.UseMediaStore(sp => CountingStore.Wrap(sp.GetRequiredService<PostgresMediaStore>(), calls));
            var services = builder.Services.BuildServiceProvider();
            await services.GetRequiredService<PostgresMediaStore>().MigrateAsync(types);
            return new Host(services, provider, calls);
        }

        public static Task<Host> CreateSqliteAsync(string path, IReadOnlyList<GenerationTypeDefinition> types, int limit)
        {
            var calls = new CallCounter();
            var provider = new DelayProvider(ProviderLatency);
            var builder = Compose(types, limit, provider);
            builder.UseMediaStore(sp => CountingStore.Wrap(new SqliteMediaStore(new SqliteStoreOptions { DatabasePath = path }), calls));
            return Task.FromResult(new Host(builder.Services.BuildServiceProvider(), provider, calls));
        }

        private static IStefnaBuilder Compose(IReadOnlyList<GenerationTypeDefinition> types, int limit, IImageProvider provider)
        {
            var services = new ServiceCollection();
            services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
            var builder = services.AddStefna(o => o.RunWorker = false);
            foreach (var type in types)
            {
                SlowTypes.Add(builder, type, limit);
            }

            return builder.UseAssetStorage(_ => new NullAssetStorage()).UseProvider(_ => provider);
        }

        public async Task WaitForFirstClaimAsync()
        {
            while (Worker.ClaimCalls == 0)
            {
                await Task.Delay(10);
            }
        }

        public async Task WaitForCompletedAsync(long runs)
        {
            while (Worker.CompletedRuns < runs)
            {
                await Task.Delay(10);
            }
        }

        public async Task WaitForParkedAsync(long runs)
        {
            while (Worker.ParkedRuns < runs || Worker.InFlight > 0)
            {
                await Task.Delay(10);
            }
        }

        // Stands in for the provider's hint running out: every parked job of the type is due now.
        public async Task MakeParkedDueAsync(GenerationTypeDefinition type)
        {
            var store = _services.GetRequiredService<PostgresMediaStore>();
            await using var command = store.DataSource.CreateCommand($"UPDATE {type.TableName} SET next_check_at = now() WHERE next_check_at IS NOT NULL");
            await command.ExecuteNonQueryAsync();
        }

        public async Task WaitForCompletedCountAsync(GenerationTypeDefinition type, long count)
        {
            while (await CountAsync(type, "status = 'completed'") < count)
            {
                await Task.Delay(100);
            }
        }

        public async Task<long> CountAsync(GenerationTypeDefinition type, string where)
        {
            var store = _services.GetRequiredService<PostgresMediaStore>();
            await using var command = store.DataSource.CreateCommand($"SELECT count(*) FROM {type.TableName} WHERE {where}");
            return (long)(await command.ExecuteScalarAsync())!;
        }

        public async Task SubmitAsync(int jobs, string type)
        {
            var pipeline = _services.GetRequiredService<IGenerationPipeline>();
            await Parallel.ForEachAsync(Enumerable.Range(0, jobs), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
                await pipeline.SubmitAsync(new GenerationRequest { Type = type, UserId = "bench-user-" + (i % 16), Prompt = "p" }, ct));
        }

        public async Task<double> MeanLatencySecondsAsync(GenerationTypeDefinition type)
        {
            var store = _services.GetRequiredService<PostgresMediaStore>();
            await using var command = store.DataSource.CreateCommand(
                $"SELECT avg(extract(epoch FROM updated_at - created_at))::float8 FROM {type.TableName} WHERE status = 'completed'");
            return (double)(await command.ExecuteScalarAsync())!;
        }

        public async ValueTask DisposeAsync() => await _services.DisposeAsync();
    }

    /// <summary>Time-weighted mean of the worker's jobs held, sampled every 2 ms until a number of runs has ended.</summary>
    private sealed class InFlightSampler(GenerationWorker worker)
    {
        public double MeanInFlight { get; private set; }

        public async Task<TimeSpan> RunAsync(long targetRuns)
        {
            var watch = Stopwatch.StartNew();
            double area = 0;
            var last = watch.Elapsed;
            var lastValue = worker.InFlight;
            while (worker.CompletedRuns < targetRuns)
            {
                await Task.Delay(2);
                var now = watch.Elapsed;
                area += lastValue * (now - last).TotalSeconds;
                last = now;
                lastValue = worker.InFlight;
            }

            MeanInFlight = area / last.TotalSeconds;
            return last;
        }
    }

    /// <summary>Answers after a fixed delay (a remote provider's latency), holding no thread.</summary>
    private sealed class DelayProvider(TimeSpan delay) : IImageProvider
    {
        private long _lastEntered;
        private long _lastLeft;

        public string Name => "delay";

        /// <summary>When the last call entered and left, for the phase breakdown.</summary>
        public (long Entered, long Left) Last => (Interlocked.Read(ref _lastEntered), Interlocked.Read(ref _lastLeft));

        public async ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken)
        {
            Interlocked.Exchange(ref _lastEntered, Stopwatch.GetTimestamp());
            await Task.Delay(delay, cancellationToken);
            Interlocked.Exchange(ref _lastLeft, Stopwatch.GetTimestamp());
            return NoopProvider.Response;
        }

        public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    /// <summary>An asynchronous provider: accepts every job with an id to check in an hour; a check answers the image.</summary>
    private sealed class ParkingProvider : IImageProvider
    {
        private int _submits;
        private int _polls;

        public string Name => "parking";

        public int Submits => Volatile.Read(ref _submits);

        public int Polls => Volatile.Read(ref _polls);

        public ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _submits);
            return ValueTask.FromResult<ProviderResponse>(new ProviderResponse.Pending("gen-" + request.JobId.ToString("N"), "queued", TimeSpan.FromHours(1)));
        }

        public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _polls);
            return ValueTask.FromResult(NoopProvider.Response);
        }
    }

    /// <summary>Holds every call until opened; counts the calls that entered.</summary>
    private sealed class GateProvider : IImageProvider
    {
        private TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _entered;

        public string Name => "gate";

        public void Open() => _gate.TrySetResult();

        public void Close()
        {
            _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _entered = 0;
        }

        public async Task WaitForEnteredAsync(int count)
        {
            while (Volatile.Read(ref _entered) < count)
            {
                await Task.Delay(10);
            }
        }

        public async ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _entered);
            await _gate.Task.WaitAsync(cancellationToken);
            return NoopProvider.Response;
        }

        public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    internal sealed class CallCounter
    {
        private long _count;

        public long Count => Interlocked.Read(ref _count);

        public void Add() => Interlocked.Increment(ref _count);
    }

    /// <summary>The roles a counted parking store plays (a proxy implements one interface).</summary>
    internal interface IParkingMediaStore : IMediaStore, IJobParking;

    /// <summary>Counts every call to the store (a proxy, so no member is missed; a store that parks stays one).</summary>
    internal class CountingStore : DispatchProxy
    {
        private IMediaStore _inner = null!;
        private CallCounter _calls = null!;

        public static IMediaStore Wrap(IMediaStore inner, CallCounter calls)
        {
            var proxy = inner is IJobParking ? Create<IParkingMediaStore, CountingStore>() : Create<IMediaStore, CountingStore>();
            var counting = (CountingStore)(object)proxy;
            counting._inner = inner;
            counting._calls = calls;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            _calls.Add();
            try
            {
                return targetMethod!.Invoke(_inner, args);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                throw ex.InnerException;
            }
        }
    }
}

/// <summary>Five prompt-only types with their own tables (the benchmark's stand-ins for the five generation types).</summary>
internal static class SlowTypes
{
    public static readonly GenerationTypeDefinition[] Definitions =
    [
        new("bench-p3-a", "bench_p3_a_media", "P3 A") { RequiresSourceImage = false },
        new("bench-p3-b", "bench_p3_b_media", "P3 B") { RequiresSourceImage = false },
        new("bench-p3-c", "bench_p3_c_media", "P3 C") { RequiresSourceImage = false },
        new("bench-p3-d", "bench_p3_d_media", "P3 D") { RequiresSourceImage = false },
        new("bench-p3-e", "bench_p3_e_media", "P3 E") { RequiresSourceImage = false },
    ];

    public static void Add(IStefnaBuilder builder, GenerationTypeDefinition type, int limit)
    {
        void Configure(GenerationTypeOptions o) => o.MaxInFlight = limit;
        _ = Array.IndexOf(Definitions, type) switch
        {
            0 => builder.AddGenerator<A>(type.Name, Configure),
            1 => builder.AddGenerator<B>(type.Name, Configure),
            2 => builder.AddGenerator<C>(type.Name, Configure),
            3 => builder.AddGenerator<D>(type.Name, Configure),
            _ => builder.AddGenerator<E>(type.Name, Configure),
        };
    }

    internal abstract class Slow(GenerationTypeDefinition definition, IOptions<StefnaOptions> options) : GeneratorBase(definition, options)
    {
        protected override ValueTask<GenerationSpec> PrepareCoreAsync(GenerationRequest request, string? prompt, CancellationToken cancellationToken) =>
            ValueTask.FromResult(new GenerationSpec { Prompt = prompt });

        public override ProviderRequest CreateProviderRequest(GenerationJob job, ImageContent? sourceImage) =>
            new() { JobId = job.Id, Type = job.Type, Prompt = job.Prompt ?? string.Empty };
    }

    internal sealed class A(IOptions<StefnaOptions> o) : Slow(Definitions[0], o);

    internal sealed class B(IOptions<StefnaOptions> o) : Slow(Definitions[1], o);

    internal sealed class C(IOptions<StefnaOptions> o) : Slow(Definitions[2], o);

    internal sealed class D(IOptions<StefnaOptions> o) : Slow(Definitions[3], o);

    internal sealed class E(IOptions<StefnaOptions> o) : Slow(Definitions[4], o);
}
