using Microsoft.Extensions.Options;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Imaging;
using Stefna.Sdk.Providers;

namespace Stefna.Sdk.Tests;

/// <summary>A text-only test type for worker tests that need a type but not its looks: the prompt goes to the
/// provider as is. Each test runs it on a database of its own.</summary>
internal sealed class PromptOnlyTestGenerator(IOptions<StefnaOptions> options) : GeneratorBase(Definition, options)
{
    /// <summary>The type's name.</summary>
    public const string TypeName = "prompt-test";

    /// <summary>The type: its own table, no source image.</summary>
    public static new readonly GenerationTypeDefinition Definition = new(TypeName, "prompt_test_media", "Prompt-only test") { RequiresSourceImage = false };

    /// <inheritdoc />
    protected override ValueTask<GenerationSpec> PrepareCoreAsync(GenerationRequest request, string? prompt, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new GenerationSpec { Prompt = prompt });

    /// <inheritdoc />
    public override ProviderRequest CreateProviderRequest(GenerationJob job, ImageContent? sourceImage) => new()
    {
        JobId = job.Id,
        Type = job.Type,
        Prompt = job.Prompt ?? "prompt test",
    };
}
