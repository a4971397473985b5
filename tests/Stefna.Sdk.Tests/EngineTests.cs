using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Pipeline;
using Stefna.Sdk.Providers;
using Stefna.Sdk.Storage;
using Stefna.TestUtils;

namespace Stefna.Sdk.Tests;

/// <summary>
/// The job engine's costs, counted on a fake clock: an idle producer claims at most once per poll interval whatever
/// its in-flight limit, one submit wakes it once, and one batch renewal per period finds the lost leases and stops
/// exactly those attempts.
/// </summary>
public sealed class EngineTests : IDisposable
{
    private const string TypeName = PromptOnlyTestGenerator.TypeName;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly InMemoryMediaStore _store;

    public EngineTests() => _store = new InMemoryMediaStore(_time);

    public void Dispose() => _dir.Dispose();

    /// <summary>Holds every call until opened (or canceled); records which prompts entered and which were canceled.</summary>
    private sealed class GateProvider : IImageProvider
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ConcurrentDictionary<string, TaskCompletionSource> Entered { get; } = new();

        public ConcurrentDictionary<string, TaskCompletionSource> Canceled { get; } = new();

        public string Name => "gate";

        public void Open() => _gate.TrySetResult();

        public async ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken)
        {
            Signal(Entered, request.Prompt);
            try
            {
                await _gate.Task.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Signal(Canceled, request.Prompt);
                throw;
            }

            return new ProviderResponse.Completed(new ProviderImage { Bytes = TestImages.Png(seed: 3) });
        }

        public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public Task EnteredTask(string prompt) => Entry(Entered, prompt).Task;

        public Task CanceledTask(string prompt) => Entry(Canceled, prompt).Task;

        private static TaskCompletionSource Entry(ConcurrentDictionary<string, TaskCompletionSource> map, string prompt) =>
            map.GetOrAdd(prompt, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

        private static void Signal(ConcurrentDictionary<string, TaskCompletionSource> map, string prompt) => Entry(map, prompt).TrySetResult();
    }

    private ServiceProvider Compose(Action<StefnaOptions> configure, IImageProvider provider, int maxInFlight = 1000, IMediaStore? store = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<TimeProvider>(_time);
        services.AddStefna(configure)
            .AddGenerator<PromptOnlyTestGenerator>(TypeName, t => t.MaxInFlight = maxInFlight)
            .UseMediaStore(_ => store ?? _store)
            .UseLocalFileStorage(_dir.File("images"))
            .UseProvider(_ => provider);
        return services.BuildServiceProvider();
    }

    // No polls within a test (one hour on a clock that barely moves) and no cooldown: only wake-ups make claims.
    private static void WakeOnly(StefnaOptions o)
    {
        o.IdlePollInterval = TimeSpan.FromHours(1);
        o.MaxIdlePollInterval = TimeSpan.FromHours(1);
        o.FetchCooldown = TimeSpan.Zero;
    }

    // Runs the worker until the token is canceled; returns once its first (start-up) claim was answered.
    private static async Task<Task> StartAsync(GenerationWorker worker, CancellationToken stop)
    {
        var running = worker.RunAsync(exitWhenIdle: false, stop);
        await UntilAsync(() => worker.ClaimCalls >= 1);
        return running;
    }

    // Waits on real time only for the worker to react (bounded by Wait); the assertions count, they never time.
    private static async Task UntilAsync(Func<bool> condition, Action? step = null)
    {
        using var deadline = new CancellationTokenSource(Wait);
        while (!condition())
        {
            step?.Invoke();
            await Task.Delay(5, deadline.Token);
        }
    }

    [Fact]
    public async Task An_idle_host_at_limit_1000_claims_no_more_often_than_the_poll_interval_allows_and_backs_off()
    {
        await using var services = Compose(o =>
        {
            o.IdlePollInterval = TimeSpan.FromSeconds(1);
            o.MaxIdlePollInterval = TimeSpan.FromSeconds(8);
        }, new GateProvider());
        var worker = services.GetRequiredService<GenerationWorker>();
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(exitWhenIdle: false, stop.Token);
        await UntilAsync(() => worker.ClaimCalls >= 1);

        // 60 s of fake time in 100 ms steps, letting the worker react to each step.
        var start = _time.GetUtcNow();
        for (var i = 0; i < 600; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Yield();
        }

        // However far it lags, the worker must have looked more than once (the clock moved 60 s).
        await UntilAsync(() => worker.ClaimCalls >= 3, () => _time.Advance(TimeSpan.FromMilliseconds(100)));
        var seconds = (_time.GetUtcNow() - start).TotalSeconds;
        var claims = worker.ClaimCalls;
        await stop.CancelAsync();
        await running;

        // At most one claim per poll interval (not one per in-flight place) ...
        Assert.InRange(claims, 3, 1 + (long)seconds);

        // ... and fewer as it backs off: polls after 1, 2, 4, 8, 8, 8 … s, so at t = 1, 3, 7, 15, 23, … .
        var allowed = 1L;
        for (double t = 0, wait = 1; t + wait <= seconds; t += wait, wait = Math.Min(wait * 2, 8))
        {
            allowed++;
        }

        Assert.InRange(claims, 3, allowed);
    }

    [Fact]
    public async Task A_claim_is_counted_once_the_store_answered_it_so_a_test_waiting_for_the_count_sees_its_jobs_taken()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var store = new ScriptedStore(_store)
        {
            BeforeClaim = () =>
            {
                entered.TrySetResult();
                return answer.Task;
            },
        };
        await using var services = Compose(WakeOnly, new GateProvider(), store: store);
        var worker = services.GetRequiredService<GenerationWorker>();
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(exitWhenIdle: false, stop.Token);

        // The start-up claim is at the store and not answered: not counted yet. (Before, it was counted on the way in, so
        // a test that waited for the count could submit a job the start-up claim then took, and count one claim short.)
        await entered.Task.WaitAsync(Wait);
        Assert.Equal(0, worker.ClaimCalls);
        answer.SetResult();
        await UntilAsync(() => worker.ClaimCalls == 1);

        await stop.CancelAsync();
        await running;
        Assert.Equal(1, worker.ClaimCalls);
    }

    [Fact]
    public async Task One_submit_wakes_the_producer_once()
    {
        var provider = new GateProvider();
        provider.Open();
        await using var services = Compose(WakeOnly, provider);
        var (worker, pipeline) = (services.GetRequiredService<GenerationWorker>(), services.GetRequiredService<IGenerationPipeline>());
        using var stop = new CancellationTokenSource();
        var running = await StartAsync(worker, stop.Token);

        for (var round = 1; round <= 5; round++)
        {
            var ticket = await pipeline.SubmitAsync(new GenerationRequest { Type = TypeName, UserId = "u", Prompt = "wake " + round });
            var job = await pipeline.WaitForCompletionAsync(TypeName, ticket.Id, "u", Wait);
            Assert.Equal(GenerationStatus.Completed, job.Status);
            Assert.Equal(1 + round, worker.ClaimCalls);
        }

        await stop.CancelAsync();
        await running;
        Assert.Equal(6, worker.ClaimCalls);
    }

    [Fact]
    public async Task One_batch_renewal_finds_the_lost_lease_and_stops_exactly_that_attempt()
    {
        var provider = new GateProvider();
        await using var services = Compose(o =>
        {
            WakeOnly(o);
            o.LeaseDuration = TimeSpan.FromSeconds(30);
        }, provider);
        var (worker, pipeline) = (services.GetRequiredService<GenerationWorker>(), services.GetRequiredService<IGenerationPipeline>());
        using var stop = new CancellationTokenSource();
        var running = await StartAsync(worker, stop.Token);

        var tickets = new Dictionary<string, Guid>();
        foreach (var prompt in new[] { "a", "b", "c" })
        {
            tickets[prompt] = (await pipeline.SubmitAsync(new GenerationRequest { Type = TypeName, UserId = "u", Prompt = prompt })).Id;
        }

        await Task.WhenAll(provider.EnteredTask("a"), provider.EnteredTask("b"), provider.EnteredTask("c")).WaitAsync(Wait);
        Assert.Equal(0, worker.RenewCalls);

        // Another process cancels b in the store; nothing in this process hears of it but the renewal.
        await _store.CancelAsync(TypeName, tickets["b"], "u", CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(10));
        await provider.CanceledTask("b").WaitAsync(Wait);

        Assert.Equal(1, worker.RenewCalls);
        Assert.False(provider.Canceled.ContainsKey("a"));
        Assert.False(provider.Canceled.ContainsKey("c"));
        foreach (var prompt in new[] { "a", "c" })
        {
            var held = await _store.GetAsync(TypeName, tickets[prompt], "u", CancellationToken.None);
            Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(30), held!.LeaseUntil);
        }

        provider.Open();
        foreach (var prompt in new[] { "a", "c" })
        {
            Assert.Equal(GenerationStatus.Completed, (await pipeline.WaitForCompletionAsync(TypeName, tickets[prompt], "u", Wait)).Status);
        }

        var lost = await pipeline.GetStatusAsync(TypeName, tickets["b"], "u");
        Assert.Equal((GenerationStatus.Canceled, (string?)null), (lost!.Status, lost.ImageUrl));
        await stop.CancelAsync();
        await running;
        Assert.False(provider.Canceled.ContainsKey("a"));
        Assert.False(provider.Canceled.ContainsKey("c"));
    }
}
