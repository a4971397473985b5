using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Pipeline;
using Stefna.Sdk.Providers;
using Stefna.Sdk.Sqlite;
using Stefna.TestUtils;

namespace Stefna.Sdk.Tests;

/// <summary>
/// Asynchronous providers park their jobs in the store (SQLite here, on a fake clock): a parked job holds no in-flight
/// place, the type's poller checks it when due and completes it, the provider sees one submit per job, and a user's
/// cancel reaches a parked job and the provider's cancel. All counted, nothing timed.
/// </summary>
public sealed class ParkingTests : IDisposable
{
    private const string TypeName = PromptOnlyTestGenerator.TypeName;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan CheckAfter = TimeSpan.FromSeconds(10);

    private readonly TempDirectory _dir = new();
    private readonly RacingClock _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public void Dispose() => _dir.Dispose();

    /// <summary>A fake clock that, once told to, moves past a timer's due time while the timer is being set: the moment
    /// between a caller reading the time and registering its timer (a clock jump, or a test moving its fake clock
    /// then).</summary>
    private sealed class RacingClock(DateTimeOffset start) : FakeTimeProvider(start)
    {
        private long _armed = -1;

        /// <summary>The next timer set to fire after <paramref name="dueTime"/> is set only after the clock moved by it.</summary>
        public void RaceNextTimerOf(TimeSpan dueTime) => Interlocked.Exchange(ref _armed, dueTime.Ticks);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            if (Interlocked.CompareExchange(ref _armed, -1, dueTime.Ticks) == dueTime.Ticks)
            {
                Advance(dueTime);
            }

            return base.CreateTimer(callback, state, dueTime, period);
        }
    }

    /// <summary>Accepts every job with an id to poll (asks to be checked after 10 s); answers polls "running" until
    /// <see cref="Finish"/>, then with an image. Counts submits, polls and cancels per job.</summary>
    private sealed class AsyncProvider : IImageProvider
    {
        private volatile bool _finished;

        public ConcurrentDictionary<Guid, int> Submits { get; } = new();

        public ConcurrentDictionary<string, int> Polls { get; } = new();

        public ConcurrentBag<string> Cancels { get; } = [];

        private int _outstanding;
        private int _mostOutstanding;

        /// <summary>The most jobs submitted and not yet answered with an image, at any moment.</summary>
        public int MostOutstanding => Volatile.Read(ref _mostOutstanding);

        public string Name => "async-test";

        public void Finish() => _finished = true;

        public ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken)
        {
            Submits.AddOrUpdate(request.JobId, 1, (_, n) => n + 1);
            var now = Interlocked.Increment(ref _outstanding);
            int most;
            while (now > (most = Volatile.Read(ref _mostOutstanding)) && Interlocked.CompareExchange(ref _mostOutstanding, now, most) != most)
            {
            }
            return ValueTask.FromResult<ProviderResponse>(new ProviderResponse.Pending("gen-" + request.JobId.ToString("N"), "queued", CheckAfter));
        }

        public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken)
        {
            Assert.Equal("gen-" + request.JobId.ToString("N"), providerJobId);
            Polls.AddOrUpdate(providerJobId, 1, (_, n) => n + 1);
            if (!_finished)
            {
                return ValueTask.FromResult<ProviderResponse>(new ProviderResponse.Pending(providerJobId, "generating", CheckAfter));
            }

            Interlocked.Decrement(ref _outstanding);
            return ValueTask.FromResult<ProviderResponse>(new ProviderResponse.Completed(new ProviderImage { Bytes = TestImages.Png(seed: 5) }));
        }

        public ValueTask CancelAsync(string providerJobId, CancellationToken cancellationToken)
        {
            Cancels.Add(providerJobId);
            return ValueTask.CompletedTask;
        }
    }

    private ServiceProvider Compose(IImageProvider provider, int maxInFlight = 1000, int? maxOutstanding = null, TimeSpan? generationTimeout = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<TimeProvider>(_time);
        services.AddStefna(o =>
            {
                // Only wake-ups and due parked jobs make store calls within a test.
                o.IdlePollInterval = TimeSpan.FromHours(1);
                o.MaxIdlePollInterval = TimeSpan.FromHours(1);
                o.FetchCooldown = TimeSpan.Zero;

                // The tests move the fake clock in steps of CheckAfter while jobs run; no step may expire a running job's
                // lease or pass a parked job's deadline, however slowly a loaded machine runs the job between two steps.
                o.LeaseDuration = TimeSpan.FromHours(1);
                o.GenerationTimeout = generationTimeout ?? TimeSpan.FromDays(1);
            })
            .AddGenerator<PromptOnlyTestGenerator>(TypeName, t =>
            {
                t.MaxInFlight = maxInFlight;
                t.MaxOutstanding = maxOutstanding;
            })
            .UseMediaStore(_ => new SqliteMediaStore(new SqliteStoreOptions { DatabasePath = _dir.File("jobs.db") }, _time))
            .UseLocalFileStorage(_dir.File("images"))
            .UseProvider(_ => provider);
        return services.BuildServiceProvider();
    }

    private static async Task UntilAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(Wait);
        while (!condition())
        {
            await Task.Delay(5, deadline.Token);
        }
    }

    // Moves the fake clock in steps until the condition holds (the poller's timer is on this clock).
    private async Task AdvanceUntilAsync(Func<bool> condition, TimeSpan step)
    {
        using var deadline = new CancellationTokenSource(Wait);
        while (!condition())
        {
            _time.Advance(step);
            await Task.Delay(5, deadline.Token);
        }
    }

    [Fact]
    public async Task A_job_an_async_provider_accepted_is_parked_holding_no_place_and_completed_by_the_poller_with_one_submit()
    {
        const int jobs = 5;
        var provider = new AsyncProvider();

        // A limit of 2 places: five parked jobs must not need five.
        await using var services = Compose(provider, maxInFlight: 2);
        var (worker, pipeline) = (services.GetRequiredService<GenerationWorker>(), services.GetRequiredService<IGenerationPipeline>());
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(exitWhenIdle: false, stop.Token);
        var ids = new List<Guid>();
        for (var i = 0; i < jobs; i++)
        {
            ids.Add((await pipeline.SubmitAsync(new GenerationRequest { Type = TypeName, UserId = "u", Prompt = "p" + i })).Id);
        }

        await UntilAsync(() => worker.ParkedRuns == jobs && worker.InFlight == 0);
        Assert.Equal(jobs, provider.Submits.Count);
        Assert.Empty(provider.Polls);
        foreach (var id in ids)
        {
            var parked = await pipeline.GetStatusAsync(TypeName, id, "u");
            Assert.Equal(GenerationStatus.Processing, parked!.Status);
            Assert.Equal("gen-" + id.ToString("N"), parked.ProviderJobId);
            Assert.Null(parked.LeaseUntil);
            Assert.Equal(_time.GetUtcNow() + CheckAfter, parked.NextCheckAt);
            Assert.Equal(1, parked.Attempts);
        }

        // Due: each is checked once, still running, and parked again (no attempt spent).
        _time.Advance(CheckAfter);
        await UntilAsync(() => worker.ParkedRuns == 2 * jobs && worker.InFlight == 0);
        Assert.All(ids, id => Assert.Equal(1, provider.Polls["gen-" + id.ToString("N")]));

        provider.Finish();
        await AdvanceUntilAsync(() => worker.ParkedRuns == 2 * jobs && provider.Polls.Values.Sum() == 2 * jobs && worker.InFlight == 0, CheckAfter);
        foreach (var id in ids)
        {
            var done = await pipeline.WaitForCompletionAsync(TypeName, id, "u", Wait);
            Assert.Equal(GenerationStatus.Completed, done.Status);
            Assert.Equal(1, done.Attempts);
            Assert.Null(done.NextCheckAt);
        }

        await stop.CancelAsync();
        await running;
        Assert.All(ids, id => Assert.Equal(1, provider.Submits[id]));
    }

    [Fact]
    public async Task A_parked_job_is_checked_when_the_clock_passed_its_due_time_while_the_poller_set_its_timer()
    {
        var provider = new AsyncProvider();
        await using var services = Compose(provider);
        var (worker, pipeline) = (services.GetRequiredService<GenerationWorker>(), services.GetRequiredService<IGenerationPipeline>());

        // The poller's timer for the parked job (due CheckAfter from now) is set only after the clock reached the due time.
        _time.RaceNextTimerOf(CheckAfter);
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(exitWhenIdle: false, stop.Token);
        var id = (await pipeline.SubmitAsync(new GenerationRequest { Type = TypeName, UserId = "u", Prompt = "late timer" })).Id;

        // The clock is not moved again: the job is due, so it is checked now, not a whole wait later. (Before, the
        // poller's timer fired CheckAfter after the due time, which this clock never reaches.)
        await UntilAsync(() => provider.Polls.ContainsKey("gen-" + id.ToString("N")));
        Assert.Equal(1, provider.Polls["gen-" + id.ToString("N")]);

        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public async Task Cancel_reaches_a_parked_job_and_the_providers_cancel_and_the_poller_never_checks_it_again()
    {
        var provider = new AsyncProvider();
        await using var services = Compose(provider);
        var (worker, pipeline) = (services.GetRequiredService<GenerationWorker>(), services.GetRequiredService<IGenerationPipeline>());
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(exitWhenIdle: false, stop.Token);
        var kept = (await pipeline.SubmitAsync(new GenerationRequest { Type = TypeName, UserId = "u", Prompt = "kept" })).Id;
        var dropped = (await pipeline.SubmitAsync(new GenerationRequest { Type = TypeName, UserId = "u", Prompt = "dropped" })).Id;
        await UntilAsync(() => worker.ParkedRuns == 2 && worker.InFlight == 0);

        var canceled = await pipeline.CancelAsync(TypeName, dropped, "u");
        Assert.Equal(GenerationStatus.Canceled, canceled!.Status);
        Assert.Equal(["gen-" + dropped.ToString("N")], provider.Cancels);

        provider.Finish();
        await AdvanceUntilAsync(() => provider.Polls.ContainsKey("gen-" + kept.ToString("N")) && worker.InFlight == 0, CheckAfter);
        var done = await pipeline.WaitForCompletionAsync(TypeName, kept, "u", Wait);
        Assert.Equal(GenerationStatus.Completed, done.Status);

        // Further due times pass: the canceled job is never polled, and stays canceled.
        _time.Advance(CheckAfter * 3);
        await stop.CancelAsync();
        await running;
        Assert.False(provider.Polls.ContainsKey("gen-" + dropped.ToString("N")));
        Assert.Equal(GenerationStatus.Canceled, (await pipeline.GetStatusAsync(TypeName, dropped, "u"))!.Status);
        Assert.Equal(1, provider.Submits[dropped]);
    }

    [Fact]
    public async Task A_host_stopped_with_parked_jobs_leaves_them_for_the_next_host_which_polls_and_never_submits_again()
    {
        const int jobs = 4;
        var provider = new AsyncProvider();
        await using (var first = Compose(provider))
        {
            var (worker, pipeline) = (first.GetRequiredService<GenerationWorker>(), first.GetRequiredService<IGenerationPipeline>());
            using var stop = new CancellationTokenSource();
            var running = worker.RunAsync(exitWhenIdle: false, stop.Token);
            for (var i = 0; i < jobs; i++)
            {
                await pipeline.SubmitAsync(new GenerationRequest { Type = TypeName, UserId = "u", Prompt = "r" + i });
            }

            await UntilAsync(() => worker.ParkedRuns == jobs && worker.InFlight == 0);
            await stop.CancelAsync();
            await running;
        }

        provider.Finish();
        await using var second = Compose(provider);
        var next = second.GetRequiredService<GenerationWorker>();
        var exited = next.RunAsync(exitWhenIdle: true, CancellationToken.None);
        using (var deadline = new CancellationTokenSource(Wait))
        {
            while (!exited.IsCompleted)
            {
                _time.Advance(CheckAfter);
                await Task.Delay(5, deadline.Token);
            }
        }

        await exited;
        Assert.Equal(jobs, provider.Submits.Count);
        Assert.All(provider.Submits.Values, n => Assert.Equal(1, n));
        Assert.Equal(jobs, provider.Polls.Count);
        Assert.Equal(0, next.ParkedRuns);
        Assert.Equal(jobs, next.CompletedRuns);
    }

    [Fact]
    public async Task The_outstanding_limit_keeps_at_most_that_many_jobs_at_the_provider_whatever_the_in_flight_limit()
    {
        const int jobs = 5;
        var provider = new AsyncProvider();
        await using var services = Compose(provider, maxInFlight: 1000, maxOutstanding: 2);
        var (worker, pipeline) = (services.GetRequiredService<GenerationWorker>(), services.GetRequiredService<IGenerationPipeline>());
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(exitWhenIdle: false, stop.Token);
        var ids = new List<Guid>();
        for (var i = 0; i < jobs; i++)
        {
            ids.Add((await pipeline.SubmitAsync(new GenerationRequest { Type = TypeName, UserId = "u", Prompt = "o" + i })).Id);
        }

        await UntilAsync(() => worker.ParkedRuns == 2 && worker.InFlight == 0);
        Assert.Equal(2, provider.Submits.Count);

        provider.Finish();
        await AdvanceUntilAsync(() => provider.Submits.Count == jobs && provider.Polls.Count == jobs && worker.InFlight == 0, CheckAfter);
        foreach (var id in ids)
        {
            Assert.Equal(GenerationStatus.Completed, (await pipeline.WaitForCompletionAsync(TypeName, id, "u", Wait)).Status);
        }

        await stop.CancelAsync();
        await running;
        Assert.Equal(2, provider.MostOutstanding);
    }

    [Fact]
    public async Task A_parked_job_past_its_deadline_fails_as_timed_out_for_good_without_another_submit()
    {
        var provider = new AsyncProvider();
        await using var services = Compose(provider, generationTimeout: TimeSpan.FromSeconds(25));
        var (worker, pipeline) = (services.GetRequiredService<GenerationWorker>(), services.GetRequiredService<IGenerationPipeline>());
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(exitWhenIdle: false, stop.Token);
        var id = (await pipeline.SubmitAsync(new GenerationRequest { Type = TypeName, UserId = "u", Prompt = "slow" })).Id;

        // Checks at 10 s and 20 s find it running; the deadline (25 s after the first park) caps the next check.
        await AdvanceUntilAsync(() => pipeline.GetStatusAsync(TypeName, id, "u").Result!.Status == GenerationStatus.Failed, TimeSpan.FromSeconds(5));
        await stop.CancelAsync();
        await running;

        var failed = (await pipeline.GetStatusAsync(TypeName, id, "u"))!;
        Assert.Equal(GenerationErrorCategory.Timeout, failed.Error!.Category);
        Assert.Equal("timeout.provider_deadline", failed.Error.Code);
        Assert.Equal(1, failed.Attempts);
        Assert.Equal(1, provider.Submits[id]);
    }
}
