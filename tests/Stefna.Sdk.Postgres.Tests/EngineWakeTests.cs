using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Stefna.Sdk.Pipeline;
using Stefna.Sdk.Postgres.WorkerHost;
using Stefna.TestUtils;

namespace Stefna.Sdk.Postgres.Tests;

/// <summary>
/// With LISTEN healthy and polling out of the picture (a one-hour poll interval), each notification wakes a type's
/// producer exactly once: a submit on this host (which would also wake it in-process) and an insert by another
/// process each cost one claim.
/// </summary>
public sealed class EngineWakeTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Each_notification_wakes_the_producer_once()
    {
        using var dir = new TempDirectory();
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddStefna(o =>
            {
                o.IdlePollInterval = TimeSpan.FromHours(1);
                o.MaxIdlePollInterval = TimeSpan.FromHours(1);
                o.FetchCooldown = TimeSpan.Zero;
            })
            .AddGenerator<QueueTestGenerator>(QueueTestGenerator.TypeName)
            .UsePostgres(database.ConnectionString)
            .UseLocalFileStorage(dir.File("images"))
            .UseProvider(_ => new PidImageProvider(TimeSpan.Zero));
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<PostgresMediaStore>();
        await store.MigrateAsync([QueueTestGenerator.Definition]);

        // Connect the listener first and take the wake-up every (re)connect sends, so the count starts clean.
        await Listening.ConnectedAndQuietAsync(store.Listener, QueueTestGenerator.TypeName);

        var worker = provider.GetRequiredService<GenerationWorker>();
        var pipeline = provider.GetRequiredService<IGenerationPipeline>();
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(exitWhenIdle: false, stop.Token);
        await Eventually.HoldsAsync(() => worker.ClaimCalls >= 1, "the producer never made its first claim", Wait);
        Assert.Equal(1, worker.ClaimCalls);

        await using var otherProcess = new PostgresMediaStore(database.CreateDataSource());
        await otherProcess.InitializeAsync([QueueTestGenerator.Definition], CancellationToken.None);
        for (var round = 1; round <= 6; round++)
        {
            Guid id;
            if (round % 2 == 1)
            {
                id = (await pipeline.SubmitAsync(new GenerationRequest { Type = QueueTestGenerator.TypeName, UserId = "u", Prompt = "here " + round })).Id;
            }
            else
            {
                var job = new NewGenerationJob { Id = Guid.CreateVersion7(), Type = QueueTestGenerator.TypeName, UserId = "u", Prompt = "there " + round, CreatedAt = DateTimeOffset.UtcNow };
                id = (await otherProcess.InsertAsync(job, CancellationToken.None)).Job.Id;
            }

            Assert.Equal(GenerationStatus.Completed, (await pipeline.WaitForCompletionAsync(QueueTestGenerator.TypeName, id, "u", Wait)).Status);
            Assert.Equal(1 + round, worker.ClaimCalls);
        }

        await stop.CancelAsync();
        await running;
        Assert.Equal(7, worker.ClaimCalls);
    }
}
