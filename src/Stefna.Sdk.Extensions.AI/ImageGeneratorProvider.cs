using System.Diagnostics;
using System.Drawing;
using System.Globalization;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Stefna.Sdk.Providers;

namespace Stefna.Sdk.Extensions.AI;

/// <summary>
/// Any Microsoft.Extensions.AI <see cref="IImageGenerator"/> (OpenAI, Azure OpenAI, a local model, a test double) as a
/// Stefna <see cref="IImageProvider"/>. A request with a source image is sent as an edit (the image as
/// <see cref="DataContent"/> in <see cref="ImageGenerationRequest.OriginalImages"/>), one without as text-to-image;
/// the first image of the answer (<see cref="DataContent"/> bytes or a <see cref="UriContent"/> URL) becomes the job's
/// image. Failures leave as <see cref="GenerationException"/> with a category. Answers at once: nothing to poll.
/// Created by <c>UseImageGenerator(...)</c> on the Stefna builder.
/// </summary>
public sealed partial class ImageGeneratorProvider : IImageProvider
{
    private readonly IImageGenerator _generator;
    private readonly ImageGeneratorProviderOptions _options;
    private readonly ImageGeneratorMetadata? _metadata;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Creates the provider.</summary>
    /// <param name="generator">The generator to call. It is not disposed by the provider.</param>
    /// <param name="options">How requests and failures are mapped.</param>
    /// <param name="time">The clock, for elapsed times and <c>Retry-After</c> dates.</param>
    /// <param name="logger">Logs each call (never the prompt or image).</param>
    public ImageGeneratorProvider(IImageGenerator generator, ImageGeneratorProviderOptions? options = null, TimeProvider? time = null, ILogger<ImageGeneratorProvider>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        _generator = generator;
        _options = options ?? new ImageGeneratorProviderOptions();
        _metadata = generator.GetService<ImageGeneratorMetadata>();
        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        Name = _options.Name ?? (string.IsNullOrWhiteSpace(_metadata?.ProviderName) ? "meai" : _metadata.ProviderName);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The generator behind this provider.</summary>
    public IImageGenerator Generator => _generator;

    /// <inheritdoc />
    public async ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (generationRequest, generationOptions) = ToGenerationRequest(request);
        var model = generationOptions.ModelId ?? _metadata?.DefaultModelId;
        var started = _time.GetTimestamp();
        LogSending(_logger, Name, request.JobId, model, generationRequest.OriginalImages is not null);
        ImageGenerationResponse response;
        try
        {
            response = await _generator.GenerateAsync(generationRequest, generationOptions, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            var mapped = _options.MapException?.Invoke(ex) ?? ImageGeneratorErrors.Map(ex, Name, _options.DefaultRetryAfter, _time);
            LogFailed(_logger, Name, request.JobId, mapped.Code, mapped.Message);
            Activity.Current?.SetTag("stefna.provider.error", mapped.Code);
            throw mapped;
        }

        LogAnswered(_logger, Name, request.JobId, (long)_time.GetElapsedTime(started).TotalMilliseconds);
        return new ProviderResponse.Completed(ToProviderImage(response, model));
    }

    /// <summary>Not used: an <see cref="IImageGenerator"/> answers at once.</summary>
    /// <param name="providerJobId">Ignored.</param>
    /// <param name="request">Ignored.</param>
    /// <param name="cancellationToken">Ignored.</param>
    /// <returns>Never returns.</returns>
    /// <exception cref="NotSupportedException">Always.</exception>
    public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken) =>
        throw new NotSupportedException("An IImageGenerator answers at once; there is nothing to poll.");

    /// <summary>Stefna request → M.E.AI request and options.</summary>
    internal (ImageGenerationRequest Request, ImageGenerationOptions Options) ToGenerationRequest(ProviderRequest request)
    {
        AIContent? original = request.SourceImage is { } source
            ? new DataContent(source.Bytes, source.Info.ContentType) { Name = "source." + source.Info.Extension }
            : request.SourceImageUrl is { } url && Uri.TryCreate(url, UriKind.Absolute, out var uri)
                ? new UriContent(uri, MediaTypes.FromPath(uri))
                : null;
        var generationRequest = original is null ? new ImageGenerationRequest(request.Prompt) : new ImageGenerationRequest(request.Prompt, [original]);
        var options = new ImageGenerationOptions
        {
            Count = 1,
            ModelId = string.IsNullOrWhiteSpace(request.Model) || !_options.UseRequestModel ? _options.ModelId : request.Model,
            ResponseFormat = _options.ResponseFormat,
            MediaType = _options.MediaType,
            ImageSize = ParseSize(request.ImageSize) ?? _options.ImageSize,
        };

        // Not part of M.E.AI's vocabulary; generators that understand them read them, the rest ignore them.
        var extra = new AdditionalPropertiesDictionary();
        if (request.Seed is { } seed)
        {
            extra["seed"] = seed;
        }

        if (request.Strength is { } strength && original is not null)
        {
            extra["strength"] = strength;
        }

        foreach (var parameter in request.Parameters)
        {
            extra.TryAdd(parameter.Key, parameter.Value);
        }

        if (extra.Count > 0)
        {
            options.AdditionalProperties = extra;
        }

        return (generationRequest, options);
    }

    /// <summary>M.E.AI response → Stefna image: the first image, inline bytes or an http(s) URL.</summary>
    internal ProviderImage ToProviderImage(ImageGenerationResponse response, string? model)
    {
        var meta = new Dictionary<string, string>(StringComparer.Ordinal) { ["provider"] = Name };
        if (!string.IsNullOrWhiteSpace(model))
        {
            meta["model"] = model;
        }

        if (response.Usage?.TotalTokenCount is { } tokens)
        {
            meta["usage_total_tokens"] = tokens.ToString(CultureInfo.InvariantCulture);
        }

        foreach (var content in response.Contents)
        {
            switch (content)
            {
                case DataContent data when data.HasTopLevelMediaType("image") && !data.Data.IsEmpty:
                    return new ProviderImage { Bytes = data.Data, Meta = meta };
                case UriContent link when link.Uri.Scheme == Uri.UriSchemeHttps || link.Uri.Scheme == Uri.UriSchemeHttp:
                    return new ProviderImage { Url = link.Uri, Meta = meta };
            }
        }

        throw new GenerationException(GenerationErrorCategory.ProviderError, $"{Name} answered without an image (no image DataContent or http(s) UriContent).", "provider_error.no_image");
    }

    /// <summary><c>WIDTHxHEIGHT</c> as a size; <see langword="null"/> when empty or not that.</summary>
    internal static Size? ParseSize(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var parts = text.Split('x', 'X');
        return parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var width)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var height)
            && width > 0 && height > 0
            ? new Size(width, height)
            : null;
    }

    [LoggerMessage(EventId = 2301, Level = LogLevel.Debug, Message = "{Provider} generation for job {JobId} with model {Model} (edit: {Edit})")]
    private static partial void LogSending(ILogger logger, string provider, Guid jobId, string? model, bool edit);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Debug, Message = "{Provider} answered job {JobId} in {ElapsedMs} ms")]
    private static partial void LogAnswered(ILogger logger, string provider, Guid jobId, long elapsedMs);

    [LoggerMessage(EventId = 2303, Level = LogLevel.Warning, Message = "{Provider} call for job {JobId} failed ({Code}): {Message}")]
    private static partial void LogFailed(ILogger logger, string provider, Guid jobId, string code, string message);
}
