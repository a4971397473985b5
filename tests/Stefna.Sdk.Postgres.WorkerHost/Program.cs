// Worker host for the PostgreSQL proofs. Usage:
//   dotnet Stefna.Sdk.Postgres.WorkerHost.dll --conn <cs> --images <dir> [--delay-ms N] [--lease-seconds S]
//       [--concurrency C] [--migrate-only] [--wait-for-go] [--max-attempts N]
//       [--jitter-ms J] [--fail-percent P] [--enqueue N] [--no-exit-when-idle] [--run-minutes M]
//       [--aiml-base <url> --aiml-key <key>]
//       [--cloudinary <CLOUDINARY_URL> --cloudinary-api-base <url>]
// Prints READY once composed (and migrated), waits for a "go" line on stdin when --wait-for-go is given, then runs
// GenerationWorker.RunAsync(exitWhenIdle: true) (or only the migration) and prints DONE <pid> <runs>.
// The soak (eng/soak.sh) adds: --jitter-ms (0..J ms more provider latency), --fail-percent (that share of provider calls
// answers an emulated 503), --enqueue N (queue N queue-test jobs and exit), --no-exit-when-idle (run until
// --run-minutes, default 5, have passed or SIGTERM).
// The queue-test type always runs on the in-process PidImageProvider. With --aiml-base, the host also registers the
// shipped custom-prompt type (Stefna.Generators.CustomPrompt) on the real AIML API provider pointed at that base URL
// (the loopback AIML API emulator the test runs on 127.0.0.1), with the provider-fault tests' resilience settings:
// 3 in-provider retries 20 ms apart, 5 s per attempt, 20 s in total; the HTTP circuit breaker keeps the provider's default.
// With --async-base (and --async-key), the queue-test type runs on the asynchronous test provider against the kit's
// AIML API emulator in its asynchronous mode at that base URL instead: jobs park in the store while the emulator says
// "generating", polled every 200 ms.
// The soak adds --split-storage (with --cloudinary and --images: each job's images go to one or the other, by its id)
// and --cloudinary-emulator <stats file> [--rate-limit-percent P] (run only the kit's Cloudinary emulator, answering 429
// on that share of calls; see SoakSupport.cs).
// With --cloudinary, images are stored in Cloudinary (UseCloudinary) at that API base (the loopback Cloudinary emulator
// the test runs on 127.0.0.1, also used as the delivery base) instead of the local folder given by --images.
// With --webhook-secret (whsec_…), the host delivers the webhook outbox too (loopback receivers allowed, 2 s first
// retry, --webhook-lease-seconds lease, default 60, each request's timeout that lease up to 30 s: a short lease only
// where a test needs another host to take over a dead host's message): beside the worker, then until nothing is pending
// before DONE.
// --enqueue with --webhook-url gives each queued job that callback URL. Fault injection: with the environment variable
// STEFNA_FAULT_KILL_BEFORE_WEBHOOK=1 the host SIGKILLs itself when its delivery loop is about to connect for the first
// time (after the job's completion and its outbox row are committed, after the message was claimed, before any byte is
// sent), printing DYING first.
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Stefna.Generators.CustomPrompt;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Pipeline;
using Stefna.Sdk.Postgres;
using Stefna.Sdk.Postgres.WorkerHost;

var options = ParseArgs(args);
if (options.GetValueOrDefault("cloudinary-emulator") is { } statsPath)
{
    // The soak's Cloudinary emulator process (eng/soak.sh): --cloudinary-emulator <stats file> [--rate-limit-percent P].
    return await SoakCloudinary.RunAsync(statsPath, int.Parse(options.GetValueOrDefault("rate-limit-percent") ?? "0", CultureInfo.InvariantCulture), TimeSpan.FromMinutes(double.Parse(options.GetValueOrDefault("run-minutes") ?? "60", CultureInfo.InvariantCulture)));
}

var connection = options.GetValueOrDefault("conn") ?? throw new ArgumentException("--conn is required");
var images = options.GetValueOrDefault("images") ?? Path.Combine(Path.GetTempPath(), "stefna-worker-images");
var delay = TimeSpan.FromMilliseconds(int.Parse(options.GetValueOrDefault("delay-ms") ?? "0", CultureInfo.InvariantCulture));
var lease = TimeSpan.FromSeconds(double.Parse(options.GetValueOrDefault("lease-seconds") ?? "30", CultureInfo.InvariantCulture));
var concurrency = int.Parse(options.GetValueOrDefault("concurrency") ?? "4", CultureInfo.InvariantCulture);
var maxAttempts = int.Parse(options.GetValueOrDefault("max-attempts") ?? "3", CultureInfo.InvariantCulture);
var jitter = TimeSpan.FromMilliseconds(int.Parse(options.GetValueOrDefault("jitter-ms") ?? "0", CultureInfo.InvariantCulture));
var failPercent = int.Parse(options.GetValueOrDefault("fail-percent") ?? "0", CultureInfo.InvariantCulture);
var runFor = TimeSpan.FromMinutes(double.Parse(options.GetValueOrDefault("run-minutes") ?? "5", CultureInfo.InvariantCulture));
var aimlBase = options.GetValueOrDefault("aiml-base");
GenerationTypeDefinition[] types = aimlBase is null
    ? [QueueTestGenerator.Definition]
    : [QueueTestGenerator.Definition, CustomPromptGenerator.TypeDefinition];

var webhookSecret = options.GetValueOrDefault("webhook-secret");
var webhookLease = TimeSpan.FromSeconds(double.Parse(options.GetValueOrDefault("webhook-lease-seconds") ?? "60", CultureInfo.InvariantCulture));
var services = new ServiceCollection();
if (Environment.GetEnvironmentVariable("STEFNA_FAULT_KILL_BEFORE_WEBHOOK") == "1")
{
    services.AddSingleton<Stefna.Sdk.Net.IHostAddressResolver, DieOnConnectResolver>();
}

services.Configure<Stefna.Sdk.Webhooks.StefnaWebhookOptions>(o =>
{
    if (webhookSecret is not null)
    {
        o.Secrets.Add(webhookSecret);
    }

    o.AllowPrivateUrls = true;
    o.RequestTimeout = webhookLease < TimeSpan.FromSeconds(30) ? webhookLease : TimeSpan.FromSeconds(30);
    o.LeaseDuration = webhookLease;
    o.PollInterval = TimeSpan.FromMilliseconds(250);
});
services.AddLogging(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
var builder = services.AddStefna(o =>
    {
        o.MaxAttempts = maxAttempts;
        o.LeaseDuration = lease;
        o.IdlePollInterval = TimeSpan.FromMilliseconds(250);
        o.RetryBackoff = TimeSpan.FromMilliseconds(100);
        o.ProviderPollInterval = TimeSpan.FromMilliseconds(200);
    })
    .AddGenerator<QueueTestGenerator>(QueueTestGenerator.TypeName, t => t.MaxInFlight = concurrency)
    .UsePostgres(connection);
if (options.GetValueOrDefault("async-base") is { } asyncBase)
{
    var asyncKey = options.GetValueOrDefault("async-key") ?? throw new ArgumentException("--async-key is required with --async-base");
    builder.UseProvider(_ => new Stefna.TestUtils.EmulatorAsyncImageProvider(new HttpClient(), new Uri(asyncBase), asyncKey));
}
else
{
    builder.UseProvider(_ => new PidImageProvider(delay, jitter, failPercent));
}

if (options.GetValueOrDefault("cloudinary") is { } cloudinaryUrl)
{
    var apiBase = options.GetValueOrDefault("cloudinary-api-base") ?? throw new ArgumentException("--cloudinary-api-base is required with --cloudinary");
    builder.UseCloudinary(o =>
    {
        o.ApplyUrl(cloudinaryUrl);
        o.ApiBaseUrl = apiBase;
        o.DeliveryBaseUrl = apiBase;
    });
    if (options.ContainsKey("split-storage"))
    {
        // The soak: each job's images in local files or in Cloudinary, by its id.
        builder.UseLocalFileStorage(images);
        builder.UseAssetStorage(sp => new SplitAssetStorage(
            sp.GetRequiredService<Stefna.Sdk.Assets.LocalFileAssetStorage>(), sp.GetRequiredService<Stefna.Sdk.Cloudinary.CloudinaryAssetStorage>()));
    }
}
else
{
    builder.UseLocalFileStorage(images);
}

if (aimlBase is not null)
{
    var aimlKey = options.GetValueOrDefault("aiml-key") ?? throw new ArgumentException("--aiml-key is required with --aiml-base");
    builder.AddCustomPrompt(t =>
        {
            t.MaxInFlight = concurrency;
            t.ProviderRetryDelay = TimeSpan.FromMilliseconds(20);
        })
        .UseAimlApi(CustomPromptGenerator.TypeName, o =>
        {
            o.ApiKey = aimlKey;
            o.BaseUrl = new Uri(aimlBase);
            o.MaxRetryAttempts = 3;
            o.RetryDelay = TimeSpan.FromMilliseconds(20);
            o.AttemptTimeout = TimeSpan.FromSeconds(5);
            o.TotalTimeout = TimeSpan.FromSeconds(20);
        });
}

await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
var store = provider.GetRequiredService<PostgresMediaStore>();
using var stop = new CancellationTokenSource(runFor);
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
{
    c.Cancel = true;
    stop.Cancel();
});

if (options.ContainsKey("migrate-only"))
{
    Console.WriteLine("READY");
    await WaitForGoAsync();
    var applied = await store.MigrateAsync(types, stop.Token);
    Console.WriteLine($"MIGRATED {applied}");
    return 0;
}

if (options.GetValueOrDefault("enqueue") is { } enqueue)
{
    var count = int.Parse(enqueue, CultureInfo.InvariantCulture);
    await store.MigrateAsync(types, stop.Token); // idempotent; tells the store the type's table
    var now = DateTimeOffset.UtcNow;
    await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = stop.Token }, async (i, ct) =>
        await store.InsertAsync(new Stefna.Sdk.NewGenerationJob
        {
            Id = Guid.CreateVersion7(),
            Type = QueueTestGenerator.TypeName,
            UserId = "soak-" + (i % 7).ToString(CultureInfo.InvariantCulture),
            Prompt = "soak job " + i.ToString(CultureInfo.InvariantCulture),
            Meta = options.GetValueOrDefault("webhook-url") is { } hook
                ? new Dictionary<string, string> { [Stefna.Sdk.Webhooks.WebhookOutboxEvents.CallbackMetaKey] = hook }
                : new Dictionary<string, string>(),
            CreatedAt = now.AddTicks(i),
        }, ct));
    Console.WriteLine($"ENQUEUED {count}");
    return 0;
}

var worker = provider.GetRequiredService<GenerationWorker>();
await store.MigrateAsync(types, stop.Token);
Console.WriteLine("READY");
await WaitForGoAsync();
var dispatcher = provider.GetRequiredService<Stefna.Sdk.Webhooks.WebhookDispatcher>();
try
{
    var work = worker.RunAsync(exitWhenIdle: !options.ContainsKey("no-exit-when-idle"), stop.Token);
    if (webhookSecret is not null)
    {
        // Delivers beside the worker, then (the jobs done) until nothing is pending: own and other hosts' messages.
        await dispatcher.RunUntilIdleAfterAsync(work, stop.Token);
    }

    await work;
    if (webhookSecret is not null)
    {
        Console.WriteLine($"DELIVERED {dispatcher.Delivered} FAILED {dispatcher.FailedAttempts}");
    }
}
catch (OperationCanceledException) when (stop.IsCancellationRequested && options.ContainsKey("no-exit-when-idle"))
{
    // The soak's workers run until told to stop.
}

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


/// <summary>Fault injection (STEFNA_FAULT_KILL_BEFORE_WEBHOOK): the first connection the host makes, the webhook
/// delivery's, kills the process instead (SIGKILL, no shutdown code).</summary>
internal sealed class DieOnConnectResolver : Stefna.Sdk.Net.IHostAddressResolver
{
    public Task<System.Net.IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        Console.WriteLine("DYING");
        Console.Out.Flush();
        System.Diagnostics.Process.GetCurrentProcess().Kill();
        return Task.FromResult(Array.Empty<System.Net.IPAddress>());
    }
}
