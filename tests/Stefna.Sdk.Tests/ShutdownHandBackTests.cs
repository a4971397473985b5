using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Providers;
using Stefna.Sdk.Sqlite;
using Stefna.Sdk.Storage;
using Stefna.TestUtils;

namespace Stefna.Sdk.Tests;

/// <summary>
/// A worker that stops while running a job hands the job back without spending an attempt, so rolling restarts (or
/// short-lived worker processes on a shared database) never exhaust <see cref="StefnaOptions.MaxAttempts"/> of a job
/// that did not fail.
/// </summary>
public class ShutdownHandBackTests
{
    private const string TypeName = PromptOnlyTestGenerator.TypeName;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    /// <summary>Reports each call, then answers with an image, or hangs until canceled when <paramref name="hang"/>.</summary>
    private sealed class Provider(bool hang, TaskCompletionSource entered) : IImageProvider
    {
        public string Name => "handback";

        public async ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken)
        {
            entered.TrySetResult();
            if (hang)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            return new ProviderResponse.Completed(new ProviderImage { Bytes = TestImages.Png(seed: 4) });
        }

        public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }

    private static IHost BuildHost(string database, string images, bool hang, TaskCompletionSource entered)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddStefna(o =>
            {
                o.MaxAttempts = 1;
                o.IdlePollInterval = TimeSpan.FromMilliseconds(50);
            })
            .AddGenerator<PromptOnlyTestGenerator>(TypeName)
            .UseSqlite(database)
            .UseLocalFileStorage(images)
            .UseProvider(_ => new Provider(hang, entered));
        return builder.Build();
    }

    [Fact]
    public async Task Restarts_while_a_job_runs_hand_it_back_without_spending_attempts()
    {
        using var dir = new TempDirectory();
        var database = dir.File("stefna.db");
        var images = dir.File("images");
        using var store = new SqliteMediaStore(new SqliteStoreOptions { DatabasePath = database });
        await store.InitializeAsync([PromptOnlyTestGenerator.Definition], CancellationToken.None);
        Guid jobId = default;

        // More restarts than MaxAttempts (1) allows claims: each host claims the job, and stops while it runs.
        for (var restart = 0; restart < 3; restart++)
        {
            var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var host = BuildHost(database, images, hang: true, entered);
            await host.StartAsync();
            if (restart == 0)
            {
                jobId = (await host.Services.GetRequiredService<IGenerationPipeline>().SubmitAsync(new GenerationRequest { Type = TypeName, UserId = "restarter", Prompt = "survive restarts" })).Id;
            }

            await entered.Task.WaitAsync(Wait);
            Assert.Equal(1, (await store.GetAsync(TypeName, jobId, "restarter", CancellationToken.None))!.Attempts);
            await host.StopAsync();

            var handedBack = await store.GetAsync(TypeName, jobId, "restarter", CancellationToken.None);
            Assert.NotNull(handedBack);
            Assert.Equal(GenerationStatus.Queued, handedBack.Status);
            Assert.Equal(0, handedBack.Attempts);
            Assert.Null(handedBack.LeaseUntil);
        }

        // The next host runs it on its first (and only allowed) attempt.
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var last = BuildHost(database, images, hang: false, done);
        await last.StartAsync();
        try
        {
            var completed = await last.Services.GetRequiredService<IGenerationPipeline>().WaitForCompletionAsync(TypeName, jobId, "restarter", Wait);
            Assert.True(completed.Status == GenerationStatus.Completed, $"{completed.Status}: {completed.Error}");
            Assert.Equal(1, completed.Attempts);
        }
        finally
        {
            await last.StopAsync();
        }
    }
}
