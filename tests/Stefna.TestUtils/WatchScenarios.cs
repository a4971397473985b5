using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Stefna.Sdk;
using Stefna.Sdk.Pipeline;
using Stefna.Sdk.Providers;
using Xunit;

namespace Stefna.TestUtils;

/// <summary>A provider whose every call waits until the test lets that prompt complete or fail; tells when a prompt
/// entered, so a test knows a job is running.</summary>
public sealed class HeldImageProvider : IImageProvider
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<Exception?>> _outcomes = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _entered = new();

    /// <inheritdoc />
    public string Name => "held";

    /// <summary>Completes when the prompt's call has started.</summary>
    public Task Entered(string prompt) => _entered.GetOrAdd(prompt, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>Lets the prompt's call return an image.</summary>
    public void Complete(string prompt) => Outcome(prompt).TrySetResult(null);

    /// <summary>Makes the prompt's call fail for good (content rejected, not retried).</summary>
    public void Reject(string prompt) => Outcome(prompt).TrySetResult(new GenerationException(GenerationErrorCategory.ContentRejected, "Rejected by the test.", "content_rejected.test"));

    /// <inheritdoc />
    public async ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        var prompt = request.Prompt ?? string.Empty;
        _entered.GetOrAdd(prompt, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        if (await Outcome(prompt).Task.WaitAsync(cancellationToken) is { } failure)
        {
            throw failure;
        }

        return new ProviderResponse.Completed(new ProviderImage { Bytes = TestImages.Png(seed: 5) });
    }

    /// <inheritdoc />
    public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    private TaskCompletionSource<Exception?> Outcome(string prompt) => _outcomes.GetOrAdd(prompt, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));
}

/// <summary>
/// <see cref="IGenerationPipeline.WatchAsync"/> scenarios every store runs (SQLite and PostgreSQL): a watcher sees each
/// state a held provider makes last, in order, and the stream ends after the final one. Every step waits for an event
/// (bounded by <see cref="Wait"/>, which only a hang reaches); nothing depends on timing.
/// </summary>
public static class WatchScenarios
{
    /// <summary>The bound of every wait: reached only when something hangs.</summary>
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    /// <summary>Queued, then processing while the provider holds the job, then completed with its image; the stream ends.</summary>
    public static async Task<GenerationJob> QueuedProcessingCompletedAsync(IGenerationPipeline pipeline, GenerationWorker worker, HeldImageProvider provider, string type, string prompt = "completes")
    {
        var id = (await pipeline.SubmitAsync(new GenerationRequest { Type = type, UserId = "watcher", Prompt = prompt })).Id;
        await using var watch = pipeline.WatchAsync(type, id, "watcher").GetAsyncEnumerator();
        Assert.Equal(GenerationStatus.Queued, (await NextAsync(watch)).Status);

        await using var running = new RunningWorker(worker);
        await provider.Entered(prompt).WaitAsync(Wait);
        var processing = await NextAsync(watch);
        Assert.Equal((GenerationStatus.Processing, 1), (processing.Status, processing.Attempts));

        provider.Complete(prompt);
        var completed = await NextAsync(watch);
        Assert.Equal(GenerationStatus.Completed, completed.Status);
        Assert.NotNull(completed.ImageUrl);
        Assert.False(await watch.MoveNextAsync().AsTask().WaitAsync(Wait), "the stream ends after the final state");
        return completed;
    }

    /// <summary>Queued, processing, then failed with the provider's error; the stream ends.</summary>
    public static async Task FailedAsync(IGenerationPipeline pipeline, GenerationWorker worker, HeldImageProvider provider, string type)
    {
        const string prompt = "fails";
        var id = (await pipeline.SubmitAsync(new GenerationRequest { Type = type, UserId = "watcher", Prompt = prompt })).Id;
        await using var watch = pipeline.WatchAsync(type, id, "watcher").GetAsyncEnumerator();
        Assert.Equal(GenerationStatus.Queued, (await NextAsync(watch)).Status);
        await using var running = new RunningWorker(worker);
        await provider.Entered(prompt).WaitAsync(Wait);
        Assert.Equal(GenerationStatus.Processing, (await NextAsync(watch)).Status);
        provider.Reject(prompt);
        var failed = await NextAsync(watch);
        Assert.Equal((GenerationStatus.Failed, "content_rejected.test"), (failed.Status, failed.Error?.Code));
        Assert.False(await watch.MoveNextAsync().AsTask().WaitAsync(Wait));
    }

    /// <summary>Lets the held prompt complete on another host: runs that host's worker until the job is completed there,
    /// stops it, and returns the job as that host reads it. The watcher's host hears nothing of it from this.</summary>
    public static async Task<GenerationJob> CompleteOnAnotherHostAsync(IServiceProvider workerHost, HeldImageProvider provider, string type, Guid id, string userId, string prompt)
    {
        ArgumentNullException.ThrowIfNull(workerHost);
        ArgumentNullException.ThrowIfNull(provider);
        await using var running = new RunningWorker(workerHost.GetRequiredService<GenerationWorker>());
        provider.Complete(prompt);
        return await workerHost.GetRequiredService<IGenerationPipeline>().WaitForCompletionAsync(type, id, userId, Wait);
    }

    /// <summary>A queued job canceled by its user: queued, then canceled; the stream ends.</summary>
    public static async Task CanceledAsync(IGenerationPipeline pipeline, string type)
    {
        var id = (await pipeline.SubmitAsync(new GenerationRequest { Type = type, UserId = "watcher", Prompt = "canceled" })).Id;
        await using var watch = pipeline.WatchAsync(type, id, "watcher").GetAsyncEnumerator();
        Assert.Equal(GenerationStatus.Queued, (await NextAsync(watch)).Status);
        var next = watch.MoveNextAsync().AsTask();
        await pipeline.CancelAsync(type, id, "watcher");
        Assert.True(await next.WaitAsync(Wait));
        Assert.Equal(GenerationStatus.Canceled, watch.Current.Status);
        Assert.False(await watch.MoveNextAsync().AsTask().WaitAsync(Wait));
    }

    /// <summary>Another user's job watches as a missing one: the first move throws what <see cref="IGenerationPipeline.WaitForCompletionAsync"/> throws, as
    /// <see cref="IGenerationPipeline.GetStatusAsync"/> reads null; a watch of a finished job yields its final state only.</summary>
    public static async Task UserScopedAsync(IGenerationPipeline pipeline, string type)
    {
        var id = (await pipeline.SubmitAsync(new GenerationRequest { Type = type, UserId = "owner", Prompt = "mine" })).Id;
        Assert.Null(await pipeline.GetStatusAsync(type, id, "intruder"));
        await using (var intruder = pipeline.WatchAsync(type, id, "intruder").GetAsyncEnumerator())
        {
            await Assert.ThrowsAsync<KeyNotFoundException>(async () => await intruder.MoveNextAsync());
        }

        await using (var missing = pipeline.WatchAsync(type, Guid.CreateVersion7(), "owner").GetAsyncEnumerator())
        {
            await Assert.ThrowsAsync<KeyNotFoundException>(async () => await missing.MoveNextAsync());
        }

        await pipeline.CancelAsync(type, id, "owner");
        var states = new List<GenerationStatus>();
        await foreach (var job in pipeline.WatchAsync(type, id, "owner").WithCancellation(new CancellationTokenSource(Wait).Token))
        {
            states.Add(job.Status);
        }

        Assert.Equal([GenerationStatus.Canceled], states);
    }

    /// <summary>The next state, bounded by <see cref="Wait"/>.</summary>
    public static async Task<GenerationJob> NextAsync(IAsyncEnumerator<GenerationJob> watch)
    {
        ArgumentNullException.ThrowIfNull(watch);
        Assert.True(await watch.MoveNextAsync().AsTask().WaitAsync(Wait), "the watch ended early");
        return watch.Current;
    }
}

/// <summary>A worker running until disposed; disposal stops it and waits for it to end.</summary>
public sealed class RunningWorker : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _running;

    /// <summary>Starts the worker (it does not exit when idle).</summary>
    /// <param name="worker">The worker.</param>
    public RunningWorker(GenerationWorker worker)
    {
        ArgumentNullException.ThrowIfNull(worker);
        _running = worker.RunAsync(exitWhenIdle: false, _stop.Token);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _running;
        _stop.Dispose();
    }
}
