namespace Stefna.Sdk.Providers;

/// <summary>
/// The seam to an image-generation service. It fits providers that answer at once (return
/// <see cref="ProviderResponse.Completed"/> from <see cref="SubmitAsync"/>) and providers that return a job id to
/// poll (return <see cref="ProviderResponse.Pending"/>, then answer <see cref="PollAsync"/>). Implementations throw
/// <see cref="GenerationException"/> with a category for failures they can classify; other exceptions are treated as
/// transient.
/// </summary>
public interface IImageProvider
{
    /// <summary>A short name for logs and telemetry, e.g. <c>offline</c> or <c>aimlapi</c>.</summary>
    string Name { get; }

    /// <summary>Starts a generation.</summary>
    /// <param name="request">What to generate.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The image, or a provider job id to poll.</returns>
    ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken);

    /// <summary>Asks about a job that <see cref="SubmitAsync"/> left pending. Providers that always answer at once throw <see cref="NotSupportedException"/>.</summary>
    /// <param name="providerJobId">The id from <see cref="ProviderResponse.Pending"/>.</param>
    /// <param name="request">The original request.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The image, or still pending.</returns>
    ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken);

    /// <summary>Asks the provider to stop a job it accepted, because its user canceled it (best effort: the SDK cancels
    /// the job on its side whatever this does). The default does nothing, for providers without a cancel call.</summary>
    /// <param name="providerJobId">The id from <see cref="ProviderResponse.Pending"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the provider has been asked.</returns>
    ValueTask CancelAsync(string providerJobId, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>What the core asks a provider to generate.</summary>
public sealed record ProviderRequest
{
    /// <summary>The job's id (stable across retries; providers may use it as an idempotency key).</summary>
    public required Guid JobId { get; init; }

    /// <summary>The generation type's name.</summary>
    public required string Type { get; init; }

    /// <summary>The rendered prompt.</summary>
    public required string Prompt { get; init; }

    /// <summary>The source image, for image-to-image generation.</summary>
    public ImageContent? SourceImage { get; init; }

    /// <summary>A public URL of the source image, when the asset storage has one (http/https only).</summary>
    public string? SourceImageUrl { get; init; }

    /// <summary>The model to use, when the type chooses one.</summary>
    public string? Model { get; init; }

    /// <summary>How far image-to-image may move from the source, 0 to 1.</summary>
    public double? Strength { get; init; }

    /// <summary>A seed for reproducible output.</summary>
    public long? Seed { get; init; }

    /// <summary>An image size name understood by providers, e.g. <c>square_hd</c>.</summary>
    public string? ImageSize { get; init; }

    /// <summary>Type-specific parameters (style, emotion, preset) that providers may use.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = System.Collections.ObjectModel.ReadOnlyDictionary<string, string>.Empty;

    /// <summary>
    /// The type's offline look for this request: a recipe of image operations that a provider rendering locally (the
    /// offline provider) applies to the source photo, written like CSS filters, e.g.
    /// <c>saturate(1.3) posterize(5) outline(#3e2c26, 0.6)</c>. It belongs to the type (its package writes it, usually
    /// per choice), so no provider names a type; providers that call a model ignore it. <see langword="null"/>: the
    /// renderer's generic look. The offline provider's README lists the operations.
    /// </summary>
    public string? Look { get; init; }
}

/// <summary>A provider's answer: an image, or a job still running.</summary>
public abstract record ProviderResponse
{
    private ProviderResponse()
    {
    }

    /// <summary>The provider finished and returned an image.</summary>
    /// <param name="Image">The image.</param>
    public sealed record Completed(ProviderImage Image) : ProviderResponse;

    /// <summary>The provider accepted the job and must be polled.</summary>
    /// <param name="ProviderJobId">The provider's job id.</param>
    /// <param name="ProviderStatus">The provider's status text, e.g. <c>queued</c>.</param>
    /// <param name="RetryAfter">How long to wait before the next poll, if the provider said.</param>
    public sealed record Pending(string ProviderJobId, string ProviderStatus, TimeSpan? RetryAfter = null) : ProviderResponse;
}

/// <summary>A generated image: bytes, or a URL to download them from.</summary>
public sealed record ProviderImage
{
    /// <summary>The encoded image, when returned inline.</summary>
    public ReadOnlyMemory<byte>? Bytes { get; init; }

    /// <summary>Where to download the image, when returned by URL.</summary>
    public Uri? Url { get; init; }

    /// <summary>Provider details worth keeping in the job's metadata (model, seed, request id).</summary>
    public IReadOnlyDictionary<string, string> Meta { get; init; } = new Dictionary<string, string>();
}

/// <summary>An encoded image in memory with what the SDK learned from its header.</summary>
/// <param name="Bytes">The encoded image.</param>
/// <param name="Info">Its format and dimensions.</param>
public sealed record ImageContent(ReadOnlyMemory<byte> Bytes, Imaging.ImageInfo Info);
