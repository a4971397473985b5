using Microsoft.Extensions.Options;
using Stefna.Sdk;
using Stefna.Sdk.Assets;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Providers;

namespace Stefna.Benchmarks;

/// <summary>A generation type with no source image and no work of its own.</summary>
internal sealed class NoopGenerator(IOptions<StefnaOptions> options) : GeneratorBase(TypeDefinition, options)
{
    public const string TypeName = "bench-noop";

    public static GenerationTypeDefinition TypeDefinition { get; } = new(TypeName, "bench_noop_media", "Benchmark no-op") { RequiresSourceImage = false };

    protected override ValueTask<GenerationSpec> PrepareCoreAsync(GenerationRequest request, string? prompt, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new GenerationSpec { Prompt = prompt });

    public override ProviderRequest CreateProviderRequest(GenerationJob job, ImageContent? sourceImage) =>
        new() { JobId = job.Id, Type = job.Type, Prompt = job.Prompt ?? string.Empty };
}

/// <summary>Answers at once with a cached 1×1 PNG.</summary>
internal sealed class NoopProvider : IImageProvider
{
    // A valid 1x1 RGB PNG.
    internal static readonly byte[] Png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC");
    internal static readonly ProviderResponse Response = new ProviderResponse.Completed(new ProviderImage { Bytes = Png });

    public string Name => "noop";

    public ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken) => ValueTask.FromResult(Response);

    public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();
}

/// <summary>An asset storage that does no I/O.</summary>
internal sealed class NullAssetStorage : IAssetStorage
{
    public ValueTask<StoredAsset> SaveAsync(AssetWriteRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new StoredAsset($"null://{request.JobId}", request.JobId.ToString("N"), request.Info.Width, request.Info.Height, "png", request.Content.Length));

    public ValueTask<ReadOnlyMemory<byte>> ReadAsync(string url, CancellationToken cancellationToken) => throw new NotSupportedException();

    public ValueTask DeleteAsync(string url, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>The Hangfire job: does nothing but count.</summary>
public static class HangfireNoopJob
{
    private static int _done;
    private static int _target;
    private static TaskCompletionSource _all = new();

    public static Task Reset(int target)
    {
        _done = 0;
        _target = target;
        _all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return _all.Task;
    }

    public static void Run()
    {
        if (Interlocked.Increment(ref _done) == _target)
        {
            _all.TrySetResult();
        }
    }
}
