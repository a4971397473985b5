using Contoso.RetroPoster;
using Microsoft.Extensions.DependencyInjection;
using Stefna.Sdk;
using Stefna.Sdk.Testing;

namespace Contoso.RetroPoster.Tests;

/// <summary>The Stefna conformance kit, run against Retro Poster: registration, definition, validation, tags,
/// determinism and one job end to end on the embedded default.</summary>
public sealed class RetroPosterConformanceTests : GeneratorConformanceTests
{
    private const string Type = RetroPosterGenerator.TypeName;

    protected override void AddGenerationType(IStefnaBuilder stefna) => stefna.AddRetroPoster();

    protected override IEnumerable<string> ExpectedTypeTags => [Type, "poster", "seventies"];

    protected override GenerationRequest CreateValidRequest() => Request(era: "seventies", headline: "Summer of '74");

    protected override IEnumerable<InvalidRequestCase> CreateInvalidRequests() =>
    [
        new("unknown era", Request(era: "jurassic"), "era", "unknown_era"),
        new("headline too long", Request(era: "fifties", headline: new string('A', 41)), "headline", "headline_too_long"),
        new("headline with markup", Request(era: "fifties", headline: "<script>"), "headline", "headline_invalid"),
        new("prompt too long", Request(era: "fifties", prompt: new string('p', 5000)), "prompt", "prompt_too_long"),
    ];

    internal static GenerationRequest Request(string? era = null, string? headline = null, string? prompt = null, Uri? webhook = null)
    {
        var options = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (headline is not null)
        {
            options["headline"] = headline;
        }

        return new GenerationRequest
        {
            Type = Type,
            UserId = "poster-fan",
            Prompt = prompt,
            Preset = era,
            Image = ImageInput.FromBytes(SampleImages.Png(seed: 7)),
            Options = options,
            WebhookUrl = webhook,
        };
    }
}
