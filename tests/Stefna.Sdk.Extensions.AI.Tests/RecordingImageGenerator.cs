using System.Collections.Concurrent;
using Microsoft.Extensions.AI;

namespace Stefna.Sdk.Extensions.AI.Tests;

/// <summary>An in-process IImageGenerator that records what it is asked and answers what the test says.</summary>
internal sealed class RecordingImageGenerator(Func<ImageGenerationRequest, ImageGenerationOptions?, ImageGenerationResponse> answer) : IImageGenerator
{
    public ConcurrentQueue<(ImageGenerationRequest Request, ImageGenerationOptions? Options)> Calls { get; } = new();

    public Task<ImageGenerationResponse> GenerateAsync(ImageGenerationRequest request, ImageGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        Calls.Enqueue((request, options));
        return Task.FromResult(answer(request, options));
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceType == typeof(ImageGeneratorMetadata) ? new ImageGeneratorMetadata("recording", new Uri("http://127.0.0.1/"), "recording-model-1") : null;

    public void Dispose()
    {
    }

    public static ImageGenerationResponse Png(byte[] bytes) => new([new DataContent(bytes, "image/png")]);
}
