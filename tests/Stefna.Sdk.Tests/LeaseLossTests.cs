using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Stefna.Sdk.Assets;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Providers;
using Stefna.Sdk.Sqlite;
using Stefna.Sdk.Storage;
using Stefna.TestUtils;

namespace Stefna.Sdk.Tests;

/// <summary>
/// What a worker does when it loses its lease or cannot renew it: a late worker discards only its own image, a hung
/// heartbeat neither blocks nor piles up, and a lease found lost while recording the provider's job id stops the attempt.
/// </summary>
public class LeaseLossTests
{
    private const string TypeName = PromptOnlyTestGenerator.TypeName;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    /// <summary>Answers with a fixed image, after <paramref name="gate"/> opens when one is given.</summary>
    private sealed class GatedProvider(byte[] image, TaskCompletionSource? entered, Task? gate) : IImageProvider
    {
        public string Name => "gated";

        public async ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken)
        {
            entered?.TrySetResult();
            if (gate is not null)
            {
                await gate.WaitAsync(cancellationToken);
            }

            return new ProviderResponse.Completed(new ProviderImage { Bytes = image });
        }

        public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }

    /// <summary>Renewals that hang until canceled, as on a database connection that stopped answering; counts them.</summary>
    private sealed class HungRenewals
    {
        private int _inFlight;
        private int _maxInFlight;
        private int _abandoned;
        private int _started;
        private readonly TaskCompletionSource _thirdStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int MaxInFlight => Volatile.Read(ref _maxInFlight);

        /// <summary>Completes when the third renewal starts: two before it hung and had to be given up for it to start.</summary>
        public Task ThirdStarted => _thirdStarted.Task;

        public int Abandoned => Volatile.Read(ref _abandoned);

        public int Started => Volatile.Read(ref _started);

        public async Task<IReadOnlyList<JobLease>> RenewAsync(string type, IReadOnlyCollection<JobLease> leases, TimeSpan leaseDuration, CancellationToken cancellationToken)
        {
            var started = Interlocked.Increment(ref _started);
            var now = Interlocked.Increment(ref _inFlight);
            int max;
            while (now > (max = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, max) != max)
            {
            }

            if (started == 3)
            {
                _thirdStarted.TrySetResult();
            }

            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
                return [];
            }
            catch (OperationCanceledException)
            {
                Interlocked.Increment(ref _abandoned);
                throw;
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
        }
    }

    /// <summary>Answers pending with a provider job id, then completed when polled; counts polls.</summary>
    private sealed class PollingProvider(byte[] image) : IImageProvider
    {
        private int _polls;

        public string Name => "polling";

        public int Polls => Volatile.Read(ref _polls);

        public ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult<ProviderResponse>(new ProviderResponse.Pending("provider-job-1", "running"));

        public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _polls);
            return ValueTask.FromResult<ProviderResponse>(new ProviderResponse.Completed(new ProviderImage { Bytes = image }));
        }
    }

    /// <summary>Local files that count saves and report every delete.</summary>
    private sealed class WatchedStorage(LocalFileAssetStorage inner, TaskCompletionSource<string> deleted) : IAssetStorage
    {
        private int _saves;

        public int Saves => Volatile.Read(ref _saves);

        public ValueTask<StoredAsset> SaveAsync(AssetWriteRequest request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _saves);
            return inner.SaveAsync(request, cancellationToken);
        }

        public ValueTask<ReadOnlyMemory<byte>> ReadAsync(string url, CancellationToken cancellationToken) => inner.ReadAsync(url, cancellationToken);

        public async ValueTask DeleteAsync(string url, CancellationToken cancellationToken)
        {
            await inner.DeleteAsync(url, cancellationToken);
            deleted.TrySetResult(url);
        }
    }

    [Fact]
    public async Task A_worker_that_lost_its_lease_discards_its_own_image_and_the_completed_rows_image_survives()
    {
        using var dir = new TempDirectory();
        var database = dir.File("stefna.db");
        var images = dir.File("images");
        var slowImage = TestImages.Png(seed: 9);
        var fastImage = TestImages.Png(seed: 2);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slowDeleted = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);

        // Worker A: a one-second lease it cannot renew, and a provider that hangs until the test opens the gate.
        var slowBuilder = Host.CreateApplicationBuilder();
        slowBuilder.Services.AddStefna(o =>
            {
                o.LeaseDuration = TimeSpan.FromSeconds(1);
                o.IdlePollInterval = TimeSpan.FromMilliseconds(50);
            })
            .AddGenerator<PromptOnlyTestGenerator>(TypeName)
            .UseMediaStore(_ => new ScriptedStore(new SqliteMediaStore(new SqliteStoreOptions { DatabasePath = database })) { Renew = new HungRenewals().RenewAsync })
            .UseLocalFileStorage(images)
            .UseAssetStorage(sp => new WatchedStorage(sp.GetRequiredService<LocalFileAssetStorage>(), slowDeleted))
            .UseProvider(_ => new GatedProvider(slowImage, entered, gate.Task));

        // One slot, so A itself never re-claims the job its hung slot holds.
        slowBuilder.Services.Configure<GenerationTypeOptions>(TypeName, o => o.MaxInFlight = 1);
        using var slow = slowBuilder.Build();

        // Worker B: an ordinary host on the same database and image folder.
        var fastBuilder = Host.CreateApplicationBuilder();
        fastBuilder.Services.AddStefna(o => o.IdlePollInterval = TimeSpan.FromMilliseconds(50))
            .AddGenerator<PromptOnlyTestGenerator>(TypeName)
            .UseSqlite(database)
            .UseLocalFileStorage(images)
            .UseProvider(_ => new GatedProvider(fastImage, null, null));
        using var fast = fastBuilder.Build();

        await slow.StartAsync();
        try
        {
            var pipeline = slow.Services.GetRequiredService<IGenerationPipeline>();
            var ticket = await pipeline.SubmitAsync(new GenerationRequest { Type = TypeName, UserId = "racer", Prompt = "two workers, one job" });
            await entered.Task.WaitAsync(Wait);

            // A's lease runs out while its provider call hangs; B re-claims the job and completes it.
            await fast.StartAsync();
            var completed = await fast.Services.GetRequiredService<IGenerationPipeline>().WaitForCompletionAsync(TypeName, ticket.Id, "racer", Wait);
            Assert.True(completed.Status == GenerationStatus.Completed, $"{completed.Status}: {completed.Error}");
            Assert.Equal(2, completed.Attempts);
            var winnerPath = new Uri(completed.ImageUrl!).LocalPath;
            Assert.Equal(fastImage, await File.ReadAllBytesAsync(winnerPath));

            // A finishes late: it stores its image, cannot complete the job, and deletes what it stored.
            gate.SetResult();
            var discarded = await slowDeleted.Task.WaitAsync(Wait);

            Assert.True(File.Exists(winnerPath), $"the completed job's image {winnerPath} is gone");
            Assert.NotEqual(completed.ImageUrl, discarded);
            Assert.False(File.Exists(new Uri(discarded).LocalPath));
            var after = await pipeline.GetStatusAsync(TypeName, ticket.Id, "racer");
            Assert.Equal(GenerationStatus.Completed, after!.Status);
            Assert.Equal(completed.ImageUrl, after.ImageUrl);
            Assert.Equal(fastImage, await File.ReadAllBytesAsync(winnerPath));
            Assert.Equal([winnerPath], Directory.GetFiles(Path.Combine(images, "results"), "*", SearchOption.AllDirectories));
        }
        finally
        {
            gate.TrySetResult();
            await fast.StopAsync();
            await slow.StopAsync();
        }
    }

    [Fact]
    public async Task A_hung_heartbeat_is_abandoned_after_a_third_of_the_lease_and_renewals_never_pile_up()
    {
        using var dir = new TempDirectory();
        var renewals = new HungRenewals();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddStefna(o =>
            {
                o.LeaseDuration = TimeSpan.FromSeconds(1);
                o.IdlePollInterval = TimeSpan.FromMilliseconds(50);
            })
            .AddGenerator<PromptOnlyTestGenerator>(TypeName, t => t.MaxInFlight = 1)
            .UseMediaStore(_ => new ScriptedStore(new SqliteMediaStore(new SqliteStoreOptions { DatabasePath = dir.File("stefna.db") })) { Renew = renewals.RenewAsync })
            .UseLocalFileStorage(dir.File("images"))
            .UseProvider(_ => new GatedProvider(TestImages.Png(seed: 4), entered, gate.Task));
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var pipeline = host.Services.GetRequiredService<IGenerationPipeline>();
            var ticket = await pipeline.SubmitAsync(new GenerationRequest { Type = TypeName, UserId = "u", Prompt = "hung heartbeat" });
            await entered.Task.WaitAsync(Wait);

            // Heartbeats every ~333 ms, each hanging on the store until its timeout (a third of the lease). A third one
            // starting proves the hung ones did not block the next (waited for as an event, not for a fixed time).
            await renewals.ThirdStarted.WaitAsync(Wait);
            Assert.True(renewals.Started >= 3, $"only {renewals.Started} renewal(s) started: a hung one blocked the next");
            Assert.True(renewals.Abandoned >= renewals.Started - 1, $"{renewals.Started} renewals started, only {renewals.Abandoned} abandoned");
            Assert.Equal(1, renewals.MaxInFlight);

            gate.SetResult();
            var job = await pipeline.WaitForCompletionAsync(TypeName, ticket.Id, "u", Wait);
            Assert.Equal(GenerationStatus.Completed, job.Status);
        }
        finally
        {
            gate.TrySetResult();
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_lease_found_lost_when_recording_the_provider_job_id_stops_the_attempt()
    {
        using var dir = new TempDirectory();
        var provider = new PollingProvider(TestImages.Png(seed: 5));
        var deleted = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var backToClaiming = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var lost = 0;
        WatchedStorage? storage = null;
        ScriptedStore? store = null;
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddStefna(o =>
            {
                o.IdlePollInterval = TimeSpan.FromMilliseconds(50);
                o.ProviderPollInterval = TimeSpan.FromMilliseconds(50);
            })
            .AddGenerator<PromptOnlyTestGenerator>(TypeName, t => t.MaxInFlight = 1)
            .UseMediaStore(_ => store = new ScriptedStore(new SqliteMediaStore(new SqliteStoreOptions { DatabasePath = dir.File("stefna.db") }))
            {
                // Another process cancels the job just before this worker records the provider's job id.
                BeforeSetProviderJobId = async lease =>
                {
                    await store!.Inner.CancelAsync(lease.Type, lease.Id, "u", CancellationToken.None);
                    Volatile.Write(ref lost, 1);
                },
                BeforeClaim = () =>
                {
                    if (Volatile.Read(ref lost) == 1)
                    {
                        backToClaiming.TrySetResult();
                    }

                    return Task.CompletedTask;
                },
            })
            .UseLocalFileStorage(dir.File("images"))
            .UseAssetStorage(sp => storage = new WatchedStorage(sp.GetRequiredService<LocalFileAssetStorage>(), deleted))
            .UseProvider(_ => provider);
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var pipeline = host.Services.GetRequiredService<IGenerationPipeline>();
            var ticket = await pipeline.SubmitAsync(new GenerationRequest { Type = TypeName, UserId = "u", Prompt = "lost before polling" });

            // The slot is back to claiming once the attempt is over.
            await backToClaiming.Task.WaitAsync(Wait);

            Assert.Equal(0, provider.Polls);
            Assert.Equal(0, storage!.Saves);
            var job = await pipeline.GetStatusAsync(TypeName, ticket.Id, "u");
            Assert.Equal(GenerationStatus.Canceled, job!.Status);
            Assert.Null(job.ProviderJobId);
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
