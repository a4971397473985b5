using Microsoft.Extensions.Options;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Generators;

namespace Contoso.Sample;

/// <summary>The sample-type generation type: the request picks one style; each style is a prompt text.</summary>
/// <param name="options">The SDK options.</param>
public sealed class SampleTypeGenerator(IOptions<StefnaOptions> options) : ChoiceGenerator(Type, options), IGenerationType
{
    /// <summary>The type's name, in requests and URLs.</summary>
    public const string TypeName = "sample-type";

    /// <summary>The type as data: its table, the request option that picks the style, and the styles.</summary>
    public static ChoiceTypeDefinition Type { get; } = new(TypeName, "sample_type_media", "SampleType", "style", "Style",
    [
        new("classic", "Classic", "die-cut vinyl sticker with a thick white border"),
        new("holographic", "Holographic", "holographic foil sticker, rainbow sheen"),
        new("pastel", "Pastel", "soft pastel kawaii sticker, rounded shapes"),
    ])
    {
        Description = "Portraits turned into stickers.",
        Default = "classic",
        Suffix = ", sticker art, clean outline, flat background",
        Strength = 0.6,
        Tags = ["sticker"],
    };

    /// <summary>The type's definition (name, table, columns, inputs).</summary>
    public static GenerationTypeDefinition TypeDefinition => Type.Definition;
}
