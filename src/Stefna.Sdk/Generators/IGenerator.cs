using Stefna.Sdk.Providers;

namespace Stefna.Sdk.Generators;

/// <summary>
/// One generation type's logic: it validates requests into a <see cref="GenerationSpec"/> at submit time and
/// turns a claimed job into a provider request at run time. Implementations must be thread-safe.
/// </summary>
public interface IGenerator
{
    /// <summary>The type's name, table and legacy rule.</summary>
    GenerationTypeDefinition Definition { get; }

    /// <summary>Validates a request and normalises it into what is stored. Throws
    /// <see cref="GenerationValidationException"/> with a clear message for bad input; writes nothing.</summary>
    /// <param name="request">The caller's request (its image is validated separately by the pipeline).</param>
    /// <param name="cancellationToken">Cancels the validation.</param>
    /// <returns>The normalised job content.</returns>
    ValueTask<GenerationSpec> PrepareAsync(GenerationRequest request, CancellationToken cancellationToken);

    /// <summary>Builds the provider request for a claimed job: renders the prompt template and model parameters.</summary>
    /// <param name="job">The claimed job.</param>
    /// <param name="sourceImage">The job's source image, if it has one.</param>
    /// <returns>What to send to the image provider.</returns>
    ProviderRequest CreateProviderRequest(GenerationJob job, ImageContent? sourceImage);
}

/// <summary>The validated, normalised content of a job, as stored in its type's table.</summary>
public sealed record GenerationSpec
{
    /// <summary>The prompt to store.</summary>
    public string? Prompt { get; init; }

    /// <summary>The preset or style key to store.</summary>
    public string? Preset { get; init; }

    /// <summary>The tags to store (type tags plus the caller's, normalised).</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>Metadata to store.</summary>
    public IReadOnlyDictionary<string, string> Meta { get; init; } = new Dictionary<string, string>();

    /// <summary>Values of the type's own columns.</summary>
    public IReadOnlyDictionary<string, string?> Columns { get; init; } = new Dictionary<string, string?>();
}
