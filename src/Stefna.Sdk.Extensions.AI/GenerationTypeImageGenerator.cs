using Microsoft.Extensions.AI;
using Stefna.Sdk.Assets;
using Stefna.Sdk.Imaging;

namespace Stefna.Sdk.Extensions.AI;

/// <summary>
/// One Stefna generation type as a Microsoft.Extensions.AI <see cref="IImageGenerator"/>: each call submits a job
/// through <see cref="IGenerationPipeline"/> (validation, the type's own table, queue, resilience and provider), waits
/// for it to finish and answers its stored image. So an M.E.AI application keeps the interface it already uses and
/// gets the queue, store, per-type isolation and idempotency behind it. Registered keyed by the type's name with
/// <c>AddImageGenerator(type)</c> on the Stefna builder.
/// </summary>
/// <remarks>
/// The prompt is the request's prompt; the first original image (<see cref="DataContent"/> bytes, or an http(s)
/// <see cref="UriContent"/> fetched through the SDK's URL guard) is the source photo. <c>AdditionalProperties</c>
/// carry <c>user_id</c>, <c>idempotency_key</c>, <c>preset</c> and the type's options. A job that fails throws
/// <see cref="GenerationException"/> with the stored category, code and message. <see cref="ImageGenerationOptions.Count"/>
/// jobs are submitted per call (idempotency keys get <c>#2</c>, <c>#3</c>… for the extra ones).
/// </remarks>
public sealed class GenerationTypeImageGenerator : IImageGenerator
{
    private readonly IGenerationPipeline _pipeline;
    private readonly IAssetStorage _assets;
    private readonly GenerationTypeImageGeneratorOptions _options;
    private readonly ImageGeneratorMetadata _metadata;

    /// <summary>Creates the generator.</summary>
    /// <param name="pipeline">The generation pipeline.</param>
    /// <param name="assets">The asset storage the pipeline stores images in (to read the results back).</param>
    /// <param name="type">The generation type's name.</param>
    /// <param name="options">Whose jobs and how long to wait.</param>
    public GenerationTypeImageGenerator(IGenerationPipeline pipeline, IAssetStorage assets, string type, GenerationTypeImageGeneratorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(assets);
        ArgumentException.ThrowIfNullOrWhiteSpace(type);
        _pipeline = pipeline;
        _assets = assets;
        Type = type;
        _options = options ?? new GenerationTypeImageGeneratorOptions();
        _metadata = new ImageGeneratorMetadata("stefna", null, type);
    }

    /// <summary>The generation type this generator submits to.</summary>
    public string Type { get; }

    /// <inheritdoc />
    public async Task<ImageGenerationResponse> GenerateAsync(ImageGenerationRequest request, ImageGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var properties = options?.AdditionalProperties;
        var userId = Text(properties, GenerationTypeImageGeneratorOptions.UserIdProperty) ?? _options.DefaultUserId;
        var idempotencyKey = Text(properties, GenerationTypeImageGeneratorOptions.IdempotencyKeyProperty);
        var typeOptions = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (properties is not null)
        {
            foreach (var (key, value) in properties)
            {
                if (value is string text && key is not (GenerationTypeImageGeneratorOptions.UserIdProperty or GenerationTypeImageGeneratorOptions.IdempotencyKeyProperty or GenerationTypeImageGeneratorOptions.PresetProperty))
                {
                    typeOptions[key] = text;
                }
            }
        }

        var image = request.OriginalImages?.FirstOrDefault() switch
        {
            DataContent data => ImageInput.FromBytes(data.Data, data.Name),
            UriContent link => ImageInput.FromUrl(link.Uri),
            null => null,
            var other => throw new NotSupportedException($"An original image must be DataContent or UriContent, not {other.GetType().Name}."),
        };

        var contents = new List<AIContent>();
        var jobs = new List<GenerationJob>();
        var count = Math.Max(1, options?.Count ?? 1);
        for (var i = 0; i < count; i++)
        {
            var ticket = await _pipeline.SubmitAsync(new GenerationRequest
            {
                Type = Type,
                UserId = userId,
                Prompt = request.Prompt,
                Preset = Text(properties, GenerationTypeImageGeneratorOptions.PresetProperty),
                Image = image,
                Options = typeOptions,
                IdempotencyKey = idempotencyKey is null || i == 0 ? idempotencyKey : $"{idempotencyKey}#{i + 1}",
            }, cancellationToken).ConfigureAwait(false);
            var job = await _pipeline.WaitForCompletionAsync(Type, ticket.Id, userId, _options.Timeout, cancellationToken).ConfigureAwait(false);
            if (job.Status != GenerationStatus.Completed || job.ImageUrl is null)
            {
                var error = job.Error ?? new GenerationError(GenerationErrorCategory.Canceled, "canceled", $"The {Type} job {job.Id} ended {job.Status} without an image.");
                throw new GenerationException(error.Category, error.Message, error.Code);
            }

            contents.Add(await ToContentAsync(job.ImageUrl, options?.ResponseFormat, cancellationToken).ConfigureAwait(false));
            jobs.Add(job);
        }

        return new ImageGenerationResponse(contents) { RawRepresentation = jobs.Count == 1 ? jobs[0] : jobs };
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ImageGeneratorMetadata) ? _metadata
            : serviceType == typeof(IGenerationPipeline) ? _pipeline
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <summary>Nothing to release: the pipeline belongs to the container.</summary>
    public void Dispose()
    {
    }

    /// <summary>Stefna's stored image → M.E.AI content: a URL when asked for one and the storage has a web URL, else the bytes.</summary>
    private async Task<AIContent> ToContentAsync(string imageUrl, ImageGenerationResponseFormat? format, CancellationToken cancellationToken)
    {
        if (format == ImageGenerationResponseFormat.Uri && Uri.TryCreate(imageUrl, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttps || url.Scheme == Uri.UriSchemeHttp))
        {
            return new UriContent(url, MediaTypes.FromPath(url));
        }

        var bytes = await _assets.ReadAsync(imageUrl, cancellationToken).ConfigureAwait(false);
        var mediaType = ImageInspector.TryInspect(bytes.Span, out var info) && info is not null ? info.ContentType : "application/octet-stream";
        return new DataContent(bytes, mediaType);
    }

    private static string? Text(AdditionalPropertiesDictionary? properties, string key) =>
        properties is not null && properties.TryGetValue(key, out var value) && value is string text && !string.IsNullOrWhiteSpace(text) ? text.Trim() : null;
}
