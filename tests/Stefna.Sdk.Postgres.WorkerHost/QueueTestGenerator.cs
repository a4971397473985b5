using Microsoft.Extensions.Options;
using Stefna.Sdk;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Providers;
using Stefna.TestUtils;

namespace Stefna.Sdk.Postgres.WorkerHost;

/// <summary>A test-only generation type: no source image, the prompt passes through.</summary>
public sealed class QueueTestGenerator(IOptions<StefnaOptions> options) : GeneratorBase(Definition, options)
{
    /// <summary>The type's name.</summary>
    public const string TypeName = "queue-test";

    /// <summary>The type's definition (table <c>queue_test_media</c>).</summary>
    public static new GenerationTypeDefinition Definition { get; } = new(TypeName, "queue_test_media", "Queue test")
    {
        RequiresSourceImage = false,
    };

    /// <inheritdoc />
    protected override ValueTask<GenerationSpec> PrepareCoreAsync(GenerationRequest request, string? prompt, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new GenerationSpec { Prompt = prompt ?? "test" });

    /// <inheritdoc />
    public override ProviderRequest CreateProviderRequest(GenerationJob job, ImageContent? sourceImage) =>
        new() { JobId = job.Id, Type = job.Type, Prompt = job.Prompt ?? "test" };
}

/// <summary>An in-process provider: a tiny valid PNG after an optional delay, tagged with this process's id.</summary>
/// <param name="delay">Latency of every call.</param>
/// <param name="jitter">Up to this much more latency, at random (the soak).</param>
/// <param name="failPercent">This share of calls answers an emulated 503 (the soak).</param>
public sealed class PidImageProvider(TimeSpan delay, TimeSpan jitter = default, int failPercent = 0) : IImageProvider
{
    private static readonly byte[] Image = TestImages.Png(8, 8);

    /// <inheritdoc />
    public string Name => "pid-test";

    /// <inheritdoc />
    public async ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        var wait = delay + (jitter > TimeSpan.Zero ? TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * jitter.TotalMilliseconds) : TimeSpan.Zero);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, cancellationToken);
        }

        // The soak's emulated provider outage: a 503 for this share of calls (retried by the SDK like a real one).
        if (failPercent > 0 && Random.Shared.Next(100) < failPercent)
        {
            throw new GenerationException(GenerationErrorCategory.ProviderUnavailable, "Emulated provider answer 503.", "provider_unavailable.http_503");
        }

        return new ProviderResponse.Completed(new ProviderImage
        {
            Bytes = Image,
            Meta = new Dictionary<string, string> { ["worker_pid"] = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        });
    }

    /// <inheritdoc />
    public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken) =>
        throw new NotSupportedException();
}
