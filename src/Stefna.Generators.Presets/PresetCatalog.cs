using Stefna.Sdk.Generators;

namespace Stefna.Generators.Presets;

/// <summary>One professional preset: what it is called, what it does, and how it is rendered.</summary>
/// <param name="Key">The stable key, stored in <c>presets_media.preset</c> and used in requests.</param>
/// <param name="Name">The display name.</param>
/// <param name="Description">A sentence on the look it gives.</param>
/// <param name="PromptTemplate">The prompt template; <c>{prompt}</c> is the user's text (default <c>portrait</c>).</param>
public sealed record PresetDefinition(string Key, string Name, string Description, string PromptTemplate)
{
    /// <summary>The model to render with.</summary>
    public string Model { get; init; } = "flux/dev/image-to-image";

    /// <summary>How far the result may move from the source photo, 0 to 1.</summary>
    public double Strength { get; init; } = 0.6;

    /// <summary>The output size name, e.g. <c>square_hd</c> or <c>portrait_4_3</c>.</summary>
    public string ImageSize { get; init; } = "square_hd";
}

/// <summary>
/// The professional preset catalogue: 25 presets in a fixed order. That order is also the default rotation order
/// (see <see cref="PresetRotation"/>), interleaving photographic, painterly and graphic looks so each week mixes them.
/// </summary>
public static class PresetCatalog
{
    /// <summary>Every preset, in catalogue order.</summary>
    public static IReadOnlyList<PresetDefinition> All { get; } =
    [
        new("cinematic_glow", "Cinematic Glow", "Film-still lighting with soft bloom and anamorphic flare.", "{prompt}, cinematic film still, soft bloom, anamorphic lens flare, shallow depth of field, color graded") { Strength = 0.45, ImageSize = "landscape_16_9" },
        new("oil_painting", "Oil Painting", "A classical oil painting with visible brushwork.", "{prompt}, classical oil painting, thick impasto brushstrokes, rich pigments, canvas texture") { Strength = 0.7 },
        new("pop_art", "Pop Art", "Bold flat colours and halftone dots in the sixties style.", "{prompt}, pop art, bold flat colors, halftone dots, thick black outlines, Warhol style") { Strength = 0.75 },
        new("golden_hour", "Golden Hour", "Warm low sun, long shadows and a golden haze.", "{prompt}, golden hour photography, warm low sun, long soft shadows, golden haze, backlit hair") { Strength = 0.4, ImageSize = "portrait_4_3" },
        new("watercolor_wash", "Watercolor Wash", "Loose watercolour with soft bleeding edges.", "{prompt}, loose watercolor painting, soft bleeding edges, paper texture, delicate washes") { Strength = 0.7 },
        new("comic_book", "Comic Book", "Inked lines, flat colours and dramatic comic shading.", "{prompt}, comic book art, bold ink lines, flat colors, dramatic shading, action panel") { Strength = 0.75 },
        new("studio_headshot", "Studio Headshot", "A clean professional headshot on a seamless backdrop.", "{prompt}, professional studio headshot, seamless grey backdrop, softbox lighting, sharp focus, 85mm lens") { Strength = 0.35, ImageSize = "portrait_4_3" },
        new("pencil_sketch", "Pencil Sketch", "A graphite sketch with cross-hatched shading.", "{prompt}, detailed graphite pencil sketch, cross-hatching, sketchbook paper, monochrome") { Strength = 0.7 },
        new("pixel_art", "Pixel Art", "A crisp 16-bit pixel-art rendition.", "{prompt}, 16-bit pixel art, limited palette, crisp pixels, retro game sprite style") { Strength = 0.8 },
        new("film_noir", "Film Noir", "High-contrast black and white with venetian-blind shadows.", "{prompt}, film noir, high contrast black and white, venetian blind shadows, smoky atmosphere") { Strength = 0.5, ImageSize = "portrait_4_3" },
        new("renaissance_master", "Renaissance Master", "A Renaissance portrait with chiaroscuro and sfumato.", "{prompt}, Renaissance portrait, chiaroscuro, sfumato, old master painting, dark varnish") { Strength = 0.7, ImageSize = "portrait_4_3" },
        new("low_poly", "Low Poly", "A faceted low-polygon 3D rendering.", "{prompt}, low poly 3D render, faceted geometric shapes, flat shading, pastel gradient") { Strength = 0.75 },
        new("editorial_fashion", "Editorial Fashion", "A glossy magazine fashion shoot.", "{prompt}, high fashion editorial photograph, glossy magazine look, dramatic pose, studio strobe") { Strength = 0.45, ImageSize = "portrait_16_9" },
        new("ukiyo_e", "Ukiyo-e Print", "A Japanese woodblock print with flat colour and bold outlines.", "{prompt}, ukiyo-e woodblock print, flat color areas, bold outlines, washi paper texture") { Strength = 0.75 },
        new("vaporwave", "Vaporwave", "Pastel pinks and teals, grids and retro computing.", "{prompt}, vaporwave aesthetic, pastel pink and teal, retro grid, marble bust, 90s computer graphics") { Strength = 0.7 },
        new("vintage_film", "Vintage Film", "Faded 35 mm colour film with grain and light leaks.", "{prompt}, vintage 35mm film photo, faded colors, film grain, light leaks, 1970s") { Strength = 0.4 },
        new("fantasy_realm", "Fantasy Realm", "An epic fantasy portrait with magical light.", "{prompt}, epic fantasy portrait, magical glowing particles, ornate armor, enchanted forest") { Strength = 0.65, ImageSize = "portrait_4_3" },
        new("claymation", "Claymation", "A handmade plasticine stop-motion look.", "{prompt}, claymation, plasticine figure, fingerprint texture, stop-motion set, soft studio light") { Strength = 0.8 },
        new("double_exposure", "Double Exposure", "A silhouette blended with a forest landscape.", "{prompt}, double exposure photograph, silhouette blended with misty pine forest, monochrome with color accent") { Strength = 0.6 },
        new("monochrome_matte", "Monochrome Matte", "Soft matte black and white with lifted shadows.", "{prompt}, matte black and white photograph, lifted shadows, soft contrast, fine grain") { Strength = 0.35 },
        new("synthwave_sunset", "Synthwave Sunset", "Retro-futurist neon sunset with chrome highlights.", "{prompt}, synthwave, retro-futurist sunset, purple and orange gradient sky, chrome highlights") { Strength = 0.7, ImageSize = "landscape_16_9" },
        new("polaroid_snapshot", "Polaroid Snapshot", "An instant-film snapshot with a washed-out flash look.", "{prompt}, polaroid instant photo, on-camera flash, washed-out colors, white frame") { Strength = 0.4 },
        new("bokeh_dream", "Bokeh Dream", "A dreamy portrait floating in creamy bokeh lights.", "{prompt}, dreamy portrait, creamy bokeh lights, 50mm f/1.2, soft pastel glow") { Strength = 0.45 },
        new("chrome_future", "Chrome Future", "Liquid chrome and iridescent sci-fi surfaces.", "{prompt}, futuristic liquid chrome, iridescent reflections, sci-fi studio lighting, sleek") { Strength = 0.7 },
        new("blockbuster_teal", "Blockbuster Teal & Orange", "The teal-and-orange grade of an action blockbuster.", "{prompt}, action blockbuster still, teal and orange color grade, lens flare, dramatic rim light") { Strength = 0.5, ImageSize = "landscape_16_9" },
    ];

    /// <summary>The keys, in catalogue order.</summary>
    public static IReadOnlyList<string> Keys { get; } = [.. All.Select(p => p.Key)];

    /// <summary>The catalogue as a reference table (<c>presets_catalog</c>) that <c>presets_media.preset</c> points at.</summary>
    public static CatalogDefinition Catalog { get; } = new("presets_catalog", [.. All.Select(p => new CatalogEntry(p.Key, p.Name, p.Description))]);

    /// <summary>Finds a preset by key (case-insensitive).</summary>
    /// <param name="key">The key.</param>
    /// <param name="preset">The preset, when found.</param>
    /// <returns>Whether it was found.</returns>
    public static bool TryGet(string? key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PresetDefinition? preset)
    {
        preset = All.FirstOrDefault(p => string.Equals(p.Key, key?.Trim(), StringComparison.OrdinalIgnoreCase));
        return preset is not null;
    }
}
