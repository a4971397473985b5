using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Stefna.Sdk.Internal;
using Stefna.Sdk.Pipeline;
using Stefna.TestUtils;

namespace Stefna.Sdk.Tests;

/// <summary>
/// <see cref="IGenerationPipeline.WatchAsync"/> and <see cref="IGenerationObserver"/> on the embedded SQLite store. Time is
/// a fake clock nobody advances unless a test says so, so no poll ever fires by itself: a watcher learns of a change only
/// from the engine of its own host, or from the poll a test makes happen.
/// </summary>
public sealed class WatchTests : IDisposable
{
    private const string TypeName = PromptOnlyTestGenerator.TypeName;

    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public void Dispose() => _dir.Dispose();

    /// <summary>Records every change an observer receives.</summary>
    private sealed class RecordingObserver : IGenerationObserver
    {
        public ConcurrentQueue<GenerationStatusChange> Changes { get; } = new();

        public void OnStatusChanged(GenerationStatusChange change) => Changes.Enqueue(change);
    }

    private sealed class ThrowingObserver : IGenerationObserver
    {
        public void OnStatusChanged(GenerationStatusChange change) => throw new InvalidOperationException("observer bug");
    }

    // One host on the shared database file; each host has its own clock.
    private ServiceProvider Host(HeldImageProvider provider, TimeProvider time, Action<IStefnaBuilder>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton(time);
        var builder = services.AddStefna(o =>
            {
                o.IdlePollInterval = TimeSpan.FromHours(1);
                o.MaxIdlePollInterval = TimeSpan.FromHours(1);
                o.FetchCooldown = TimeSpan.Zero;
                o.WatchPollInterval = TimeSpan.FromSeconds(2);
            })
            .AddGenerator<PromptOnlyTestGenerator>(TypeName)
            .UseSqlite(_dir.File("stefna.db"))
            .UseLocalFileStorage(_dir.File("images"))
            .UseProvider(_ => provider);
        configure?.Invoke(builder);
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task A_watcher_sees_queued_then_processing_then_completed_and_the_stream_ends()
    {
        var provider = new HeldImageProvider();
        await using var host = Host(provider, _time);
        await WatchScenarios.QueuedProcessingCompletedAsync(host.GetRequiredService<IGenerationPipeline>(), host.GetRequiredService<GenerationWorker>(), provider, TypeName);
    }

    [Fact]
    public async Task A_watcher_sees_a_failure_with_its_error()
    {
        var provider = new HeldImageProvider();
        await using var host = Host(provider, _time);
        await WatchScenarios.FailedAsync(host.GetRequiredService<IGenerationPipeline>(), host.GetRequiredService<GenerationWorker>(), provider, TypeName);
    }

    [Fact]
    public async Task A_watcher_sees_a_cancel()
    {
        await using var host = Host(new HeldImageProvider(), _time);
        await WatchScenarios.CanceledAsync(host.GetRequiredService<IGenerationPipeline>(), TypeName);
    }

    [Fact]
    public async Task Another_users_job_watches_as_not_found()
    {
        await using var host = Host(new HeldImageProvider(), _time);
        await WatchScenarios.UserScopedAsync(host.GetRequiredService<IGenerationPipeline>(), TypeName);
    }

    [Fact]
    public async Task Ten_watchers_of_one_job_cost_one_read_per_change()
    {
        var provider = new HeldImageProvider();
        await using var host = Host(provider, _time);
        var pipeline = host.GetRequiredService<IGenerationPipeline>();
        var hub = host.GetRequiredService<JobWatchHub>();
        var id = (await pipeline.SubmitAsync(new GenerationRequest { Type = TypeName, UserId = "u", Prompt = "shared" })).Id;

        var watches = Enumerable.Range(0, 10).Select(_ => pipeline.WatchAsync(TypeName, id, "u").GetAsyncEnumerator()).ToList();
        foreach (var watch in watches)
        {
            Assert.Equal(GenerationStatus.Queued, (await WatchScenarios.NextAsync(watch)).Status);
        }

        // The first watcher read the job; the nine after it shared that read (nothing changed in between).
        Assert.Equal(1, hub.Reads);
        Assert.Equal(1, hub.WatchedCount);

        await using var running = new RunningWorker(host.GetRequiredService<GenerationWorker>());
        await provider.Entered("shared").WaitAsync(WatchScenarios.Wait);
        foreach (var watch in watches)
        {
            Assert.Equal(GenerationStatus.Processing, (await WatchScenarios.NextAsync(watch)).Status);
        }

        provider.Complete("shared");
        foreach (var watch in watches)
        {
            Assert.Equal(GenerationStatus.Completed, (await WatchScenarios.NextAsync(watch)).Status);
            Assert.False(await watch.MoveNextAsync());
            await watch.DisposeAsync();
        }

        // Three states, three reads, for ten watchers; and nothing is left registered.
        Assert.Equal(3, hub.Reads);
        Assert.Equal(0, hub.WatchedCount);
    }

    [Fact]
    public async Task A_watcher_on_another_process_sees_the_completion_at_its_next_poll()
    {
        // Two hosts on one database file (two processes, as far as the store can tell): the watcher's host runs no worker and
        // hears nothing from the other, so only its poll can show the change.
        var provider = new HeldImageProvider();
        var watcherClock = new FakeTimeProvider(_time.GetUtcNow());
        await using var watcherHost = Host(new HeldImageProvider(), watcherClock);
        await using var workerHost = Host(provider, TimeProvider.System);
        var pipeline = watcherHost.GetRequiredService<IGenerationPipeline>();
        var id = (await pipeline.SubmitAsync(new GenerationRequest { Type = TypeName, UserId = "u", Prompt = "elsewhere" })).Id;
        await using var watch = pipeline.WatchAsync(TypeName, id, "u").GetAsyncEnumerator();
        Assert.Equal(GenerationStatus.Queued, (await WatchScenarios.NextAsync(watch)).Status);
        var next = watch.MoveNextAsync().AsTask();

        var done = await WatchScenarios.CompleteOnAnotherHostAsync(workerHost, provider, TypeName, id, "u", "elsewhere");
        Assert.Equal(GenerationStatus.Completed, done.Status);

        // Completed in the database, but the watcher has not looked: nothing woke it.
        Assert.False(next.IsCompleted);
        watcherClock.Advance(TimeSpan.FromSeconds(2));
        Assert.True(await next.WaitAsync(WatchScenarios.Wait));
        Assert.Equal((GenerationStatus.Completed, done.ImageUrl), (watch.Current.Status, watch.Current.ImageUrl));
        Assert.False(await watch.MoveNextAsync());
    }

    [Fact]
    public async Task Observers_receive_every_change_this_host_makes_and_a_failing_one_harms_nothing()
    {
        var provider = new HeldImageProvider();
        await using var host = Host(provider, _time, b => b.AddObserver<ThrowingObserver>().AddObserver<RecordingObserver>().AddObserver<RecordingObserver>());
        var observer = host.GetRequiredService<RecordingObserver>();
        Assert.Equal(2, host.GetServices<IGenerationObserver>().Count());
        var pipeline = host.GetRequiredService<IGenerationPipeline>();
        var completed = await WatchScenarios.QueuedProcessingCompletedAsync(pipeline, host.GetRequiredService<GenerationWorker>(), provider, TypeName, "observed");
        var canceled = (await pipeline.SubmitAsync(new GenerationRequest { Type = TypeName, UserId = "watcher", Prompt = "dropped" })).Id;
        await pipeline.CancelAsync(TypeName, canceled, "watcher");

        var changes = observer.Changes.ToArray();
        Assert.Equal(
            [(completed.Id, GenerationStatus.Queued, 0), (completed.Id, GenerationStatus.Processing, 1), (completed.Id, GenerationStatus.Completed, 1), (canceled, GenerationStatus.Queued, 0), (canceled, GenerationStatus.Canceled, 0)],
            changes.Select(c => (c.Id, c.Status, c.Attempt)));
        Assert.Equal(completed.ImageUrl, changes[2].ImageUrl);
        Assert.All(changes, c => Assert.Equal((TypeName, "watcher"), (c.Type, c.UserId)));
    }
}
