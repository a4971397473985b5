using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Stefna.Sdk.Pipeline;
using Stefna.Sdk.Providers;
using Stefna.Sdk.Postgres.WorkerHost;
using Stefna.Sdk.Storage;
using Stefna.TestUtils;

namespace Stefna.Sdk.Postgres.Tests;

/// <summary>
/// <see cref="IGenerationPipeline.WatchAsync"/> on PostgreSQL: the shared scenarios on one host, then two hosts on one
/// database, the watcher's host running no worker and its clock never moving unless the test moves it (so it never polls
/// by itself): it sees a job another host runs through NOTIFY, and, with status notifications off, at its next poll.
/// </summary>
public sealed class WatchTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private const string TypeName = QueueTestGenerator.TypeName;
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    private ServiceProvider Host(TempDirectory dir, IImageProvider provider, TimeProvider time, bool notifyStatus = true, string? applicationName = null, TimeSpan? pollInterval = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton(time);
        services.AddStefna(o =>
            {
                o.IdlePollInterval = TimeSpan.FromMilliseconds(50);
                o.MaxIdlePollInterval = TimeSpan.FromMilliseconds(200);
                o.WatchPollInterval = pollInterval ?? PollInterval;
            })
            .AddGenerator<QueueTestGenerator>(TypeName)
            .UsePostgres(o =>
            {
                o.ConnectionString = database.ConnectionString + (applicationName is null ? string.Empty : ";Application Name=" + applicationName);
                o.NotifyStatusChanges = notifyStatus;
            })
            .UseLocalFileStorage(dir.File("images"))
            .UseProvider(_ => provider);
        return services.BuildServiceProvider();
    }

    private static FakeTimeProvider StillClock() => new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    // Opens the store's listening connection and waits until it is up, so the counts that follow start clean.
    private static async Task<IDisposable> ListeningAsync(PostgresMediaStore store)
    {
        var subscription = store.SubscribeToStatusChanges(new NoSubscriber());
        await Eventually.HoldsAsync(() => store.IsListeningForStatusChanges, "the status listener never connected", WatchScenarios.Wait);

        return subscription;
    }

    private sealed class NoSubscriber : IJobStatusSubscriber
    {
        public void OnStatusChanged(string type, Guid id)
        {
        }

        public void OnNotificationsMissed()
        {
        }
    }

    [Fact]
    public async Task One_host_queued_processing_completed_failed_canceled_and_user_scoped()
    {
        using var dir = new TempDirectory();
        var provider = new HeldImageProvider();
        await using var host = Host(dir, provider, StillClock());
        var pipeline = host.GetRequiredService<IGenerationPipeline>();
        var worker = host.GetRequiredService<GenerationWorker>();
        using var listening = await ListeningAsync(host.GetRequiredService<PostgresMediaStore>());
        await WatchScenarios.QueuedProcessingCompletedAsync(pipeline, worker, provider, TypeName);
        await WatchScenarios.FailedAsync(pipeline, worker, provider, TypeName);
        await WatchScenarios.CanceledAsync(pipeline, TypeName);
        await WatchScenarios.UserScopedAsync(pipeline, TypeName);
    }

    [Fact]
    public async Task A_watcher_sees_a_job_another_host_runs_through_notify_one_read_per_change()
    {
        using var dir = new TempDirectory();
        var provider = new HeldImageProvider();
        await using var watcherHost = Host(dir, new HeldImageProvider(), StillClock());
        await using var workerHost = Host(dir, provider, TimeProvider.System);
        var store = watcherHost.GetRequiredService<PostgresMediaStore>();
        using var listening = await ListeningAsync(store);
        var pipeline = watcherHost.GetRequiredService<IGenerationPipeline>();

        var id = (await pipeline.SubmitAsync(new GenerationRequest { Type = TypeName, UserId = "u", Prompt = "across" })).Id;
        await using var watch = pipeline.WatchAsync(TypeName, id, "u").GetAsyncEnumerator();
        Assert.Equal(GenerationStatus.Queued, (await WatchScenarios.NextAsync(watch)).Status);
        Assert.Equal(0, store.Listener.StatusNotifications);

        await using var running = new RunningWorker(workerHost.GetRequiredService<GenerationWorker>());
        await provider.Entered("across").WaitAsync(WatchScenarios.Wait);
        var processing = await WatchScenarios.NextAsync(watch);
        Assert.Equal((GenerationStatus.Processing, 1), (processing.Status, processing.Attempts));
        provider.Complete("across");
        var completed = await WatchScenarios.NextAsync(watch);
        Assert.Equal(GenerationStatus.Completed, completed.Status);
        Assert.NotNull(completed.ImageUrl);
        Assert.False(await watch.MoveNextAsync());

        // Two changes (the claim, the completion), two notifications; the clock never moved, so no poll read anything.
        Assert.Equal(2, store.Listener.StatusNotifications);
    }

    [Fact]
    public async Task While_the_listening_connection_is_down_a_watcher_polls_and_sees_another_hosts_job()
    {
        // The watcher's poll (50 ms) comes before the listener's first reconnect (100 ms back-off), both on the watcher
        // host's clock, which only the test moves: the change can only be seen by polling.
        using var dir = new TempDirectory();
        var provider = new HeldImageProvider();
        var clock = StillClock();
        var name = "stefna-watcher-" + Guid.NewGuid().ToString("N")[..8];
        await using var watcherHost = Host(dir, new HeldImageProvider(), clock, applicationName: name, pollInterval: TimeSpan.FromMilliseconds(50));
        await using var workerHost = Host(dir, provider, TimeProvider.System);
        var store = watcherHost.GetRequiredService<PostgresMediaStore>();
        using var listening = await ListeningAsync(store);
        var pipeline = watcherHost.GetRequiredService<IGenerationPipeline>();
        var id = (await pipeline.SubmitAsync(new GenerationRequest { Type = TypeName, UserId = "u", Prompt = "unheard" })).Id;
        // The listening connection is the one of the watcher's host whose last statement was its LISTEN or, after 15 s
        // of quiet (a slow machine), the listener's liveness ping; the pool's other connections last ran the store's own.
        Assert.Equal(1L, await TestTypes.ScalarAsync<long>(database.ConnectionString, """
            WITH listener AS MATERIALIZED (
                SELECT pid FROM pg_stat_activity WHERE application_name = @name AND (query LIKE 'LISTEN%' OR query = 'SELECT 1'))
            SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM listener
            """, ("name", name)));
        await Eventually.HoldsAsync(() => !store.IsListeningForStatusChanges, "the status listener never noticed its connection was terminated", WatchScenarios.Wait);

        await using var watch = pipeline.WatchAsync(TypeName, id, "u").GetAsyncEnumerator();
        Assert.Equal(GenerationStatus.Queued, (await WatchScenarios.NextAsync(watch)).Status);
        var next = watch.MoveNextAsync().AsTask();
        var done = await WatchScenarios.CompleteOnAnotherHostAsync(workerHost, provider, TypeName, id, "u", "unheard");

        Assert.False(next.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(50));
        Assert.True(await next.WaitAsync(WatchScenarios.Wait));
        Assert.Equal((GenerationStatus.Completed, done.ImageUrl), (watch.Current.Status, watch.Current.ImageUrl));
        Assert.False(store.IsListeningForStatusChanges);
        Assert.Equal(0, store.Listener.StatusNotifications);
    }

    [Fact]
    public async Task With_status_notifications_off_a_watcher_sees_another_hosts_job_at_its_next_poll()
    {
        using var dir = new TempDirectory();
        var provider = new HeldImageProvider();
        var clock = StillClock();
        await using var watcherHost = Host(dir, new HeldImageProvider(), clock, notifyStatus: false);
        await using var workerHost = Host(dir, provider, TimeProvider.System);
        var store = watcherHost.GetRequiredService<PostgresMediaStore>();
        var pipeline = watcherHost.GetRequiredService<IGenerationPipeline>();

        var id = (await pipeline.SubmitAsync(new GenerationRequest { Type = TypeName, UserId = "u", Prompt = "polled" })).Id;
        await using var watch = pipeline.WatchAsync(TypeName, id, "u").GetAsyncEnumerator();
        Assert.Equal(GenerationStatus.Queued, (await WatchScenarios.NextAsync(watch)).Status);
        var next = watch.MoveNextAsync().AsTask();

        var done = await WatchScenarios.CompleteOnAnotherHostAsync(workerHost, provider, TypeName, id, "u", "polled");

        // Completed in the database; the watcher's host neither listens for nor hears of it until its poll.
        Assert.False(store.IsListeningForStatusChanges);
        Assert.Equal(0, store.Listener.StatusNotifications);
        Assert.False(next.IsCompleted);
        clock.Advance(PollInterval);
        Assert.True(await next.WaitAsync(WatchScenarios.Wait));
        Assert.Equal((GenerationStatus.Completed, done.ImageUrl), (watch.Current.Status, watch.Current.ImageUrl));
        Assert.False(await watch.MoveNextAsync());
    }
}
