using Microsoft.Extensions.Options;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Generators;

namespace Contoso.Sample;

/// <summary>The sample-type generation type: the request picks one style; each style is a prompt text for a model
/// and a look for the offline provider (a recipe of image operations, see the offline provider's README).</summary>
/// <param name="options">The SDK options.</param>
public sealed class SampleTypeGenerator(IOptions<StefnaOptions> options) : ChoiceGenerator(Type, options), IGenerationType
{
    /// <summary>The type's name, in requests and URLs.</summary>
    public const string TypeName = "sample-type";

    /// <summary>The type as data: its table, the request option that picks the style, and the styles.</summary>
    public static ChoiceTypeDefinition Type { get; } = new(TypeName, "sample_type_media", "SampleType", "style", "Style",
    [
        new("classic", "Classic", "die-cut vinyl sticker with a thick white border") { Look = "saturate(1.3) posterize(6) outline(#202020, 0.8) frame(#ffffff, 12)" },
        new("holographic", "Holographic", "holographic foil sticker, rainbow sheen") { Look = "tritone(#3020a0, #ff60e0, #60fff0, 0.7) glow(6, 0.4) frame(#c8c8ff, 12)" },
        new("pastel", "Pastel", "soft pastel kawaii sticker, rounded shapes") { Look = "blur(2) lift(0.3) saturate(0.8) posterize(5) tint(#ffb0d8, 0.35) frame(#fff0f8, 12)" },
    ])
    {
        Description = "Portraits turned into stickers.",
        Default = "classic",
        Suffix = ", sticker art, clean outline, flat background",
        Strength = 0.6,
        Tags = ["sticker"],
        Look = "edges()", // shared by every style, before its own look
    };

    /// <summary>The type's definition (name, table, columns, inputs).</summary>
    public static GenerationTypeDefinition TypeDefinition => Type.Definition;
}
