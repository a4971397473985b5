// Worker host for the PostgreSQL proofs. Usage:
//   dotnet Stefna.Sdk.Postgres.WorkerHost.dll --conn <cs> --images <dir> [--delay-ms N] [--lease-seconds S]
//       [--concurrency C] [--migrate-only] [--wait-for-go]
// Prints READY once composed (and migrated), waits for a "go" line on stdin when --wait-for-go is given, then runs
// GenerationWorker.RunAsync(exitWhenIdle: true) (or only the migration) and prints DONE <pid> <runs>.
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Stefna.Sdk.Pipeline;
using Stefna.Sdk.Postgres;
using Stefna.Sdk.Postgres.WorkerHost;

var options = ParseArgs(args);
var connection = options.GetValueOrDefault("conn") ?? throw new ArgumentException("--conn is required");
var images = options.GetValueOrDefault("images") ?? Path.Combine(Path.GetTempPath(), "stefna-worker-images");
var delay = TimeSpan.FromMilliseconds(int.Parse(options.GetValueOrDefault("delay-ms") ?? "0", CultureInfo.InvariantCulture));
var lease = TimeSpan.FromSeconds(double.Parse(options.GetValueOrDefault("lease-seconds") ?? "30", CultureInfo.InvariantCulture));
var concurrency = int.Parse(options.GetValueOrDefault("concurrency") ?? "4", CultureInfo.InvariantCulture);

var services = new ServiceCollection();
services.AddLogging(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
services.AddStefna(o =>
    {
        o.LeaseDuration = lease;
        o.IdlePollInterval = TimeSpan.FromMilliseconds(250);
        o.RetryBackoff = TimeSpan.FromMilliseconds(100);
    })
    .AddGenerator<QueueTestGenerator>(QueueTestGenerator.TypeName, t => t.MaxConcurrency = concurrency)
    .UsePostgres(connection)
    .UseLocalFileStorage(images)
    .UseProvider(_ => new PidImageProvider(delay));

await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
var store = provider.GetRequiredService<PostgresMediaStore>();
using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(5));

if (options.ContainsKey("migrate-only"))
{
    Console.WriteLine("READY");
    await WaitForGoAsync();
    var applied = await store.MigrateAsync([QueueTestGenerator.Definition], stop.Token);
    Console.WriteLine($"MIGRATED {applied}");
    return 0;
}

var worker = provider.GetRequiredService<GenerationWorker>();
await store.MigrateAsync([QueueTestGenerator.Definition], stop.Token);
Console.WriteLine("READY");
await WaitForGoAsync();
await worker.RunAsync(exitWhenIdle: true, stop.Token);
Console.WriteLine($"DONE {Environment.ProcessId} {worker.CompletedRuns}");
return 0;

async Task WaitForGoAsync()
{
    if (options.ContainsKey("wait-for-go"))
    {
        while (await Console.In.ReadLineAsync(stop.Token) is { } line && line.Trim() != "go")
        {
        }
    }
}

static Dictionary<string, string?> ParseArgs(string[] args)
{
    var result = new Dictionary<string, string?>(StringComparer.Ordinal);
    for (var i = 0; i < args.Length; i++)
    {
        if (!args[i].StartsWith("--", StringComparison.Ordinal))
        {
            continue;
        }

        var key = args[i][2..];
        var hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
        result[key] = hasValue ? args[++i] : null;
    }

    return result;
}
