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

    /// <summary>The preset's offline look (see <see cref="Stefna.Sdk.Providers.ProviderRequest.Look"/>): how the offline
    /// provider renders it; each preset's differs visibly from every other's.</summary>
    public string? Look { get; init; }
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
        new("cinematic_glow", "Cinematic Glow", "Film-still lighting with soft bloom and anamorphic flare.", "{prompt}, cinematic film still, soft bloom, anamorphic lens flare, shallow depth of field, color graded") { Strength = 0.45, ImageSize = "landscape_16_9", Look = "contrast(1.15) split-tone(#0a3050, #ffa040, 0.5) glow(10, 0.6) vignette(#000000, 0.6)" },
        new("oil_painting", "Oil Painting", "A classical oil painting with visible brushwork.", "{prompt}, classical oil painting, thick impasto brushstrokes, rich pigments, canvas texture") { Strength = 0.7, Look = "blur(2) saturate(1.35) posterize(9) edges() outline(#2a1a0a, 0.35, 60) tint(#c89050, 0.2)" },
        new("pop_art", "Pop Art", "Bold flat colours and halftone dots in the sixties style.", "{prompt}, pop art, bold flat colors, halftone dots, thick black outlines, Warhol style") { Strength = 0.75, Look = "saturate(2.2) contrast(1.4) posterize(3) halftone(4, #d01060, #fff03c)" },
        new("golden_hour", "Golden Hour", "Warm low sun, long shadows and a golden haze.", "{prompt}, golden hour photography, warm low sun, long soft shadows, golden haze, backlit hair") { Strength = 0.4, ImageSize = "portrait_4_3", Look = "tint(#ffb030, 0.45) glow(12, 0.35) brightness(10)" },
        new("watercolor_wash", "Watercolor Wash", "Loose watercolour with soft bleeding edges.", "{prompt}, loose watercolor painting, soft bleeding edges, paper texture, delicate washes") { Strength = 0.7, Look = "blur(3) lift(0.25) saturate(1.2) posterize(6) blur(1.5)" },
        new("comic_book", "Comic Book", "Inked lines, flat colours and dramatic comic shading.", "{prompt}, comic book art, bold ink lines, flat colors, dramatic shading, action panel") { Strength = 0.75, Look = "saturate(1.6) posterize(4) edges() outline(#000000, 1, 30) contrast(1.3)" },
        new("studio_headshot", "Studio Headshot", "A clean professional headshot on a seamless backdrop.", "{prompt}, professional studio headshot, seamless grey backdrop, softbox lighting, sharp focus, 85mm lens") { Strength = 0.35, ImageSize = "portrait_4_3", Look = "saturate(0.85) contrast(1.15) brightness(12) vignette(#505860, 0.55)" },
        new("pencil_sketch", "Pencil Sketch", "A graphite sketch with cross-hatched shading.", "{prompt}, detailed graphite pencil sketch, cross-hatching, sketchbook paper, monochrome") { Strength = 0.7, Look = "sketch(1) contrast(1.2)" },
        new("pixel_art", "Pixel Art", "A crisp 16-bit pixel-art rendition.", "{prompt}, 16-bit pixel art, limited palette, crisp pixels, retro game sprite style") { Strength = 0.8, Look = "pixelate(8) saturate(1.4) posterize(4)" },
        new("film_noir", "Film Noir", "High-contrast black and white with venetian-blind shadows.", "{prompt}, film noir, high contrast black and white, venetian blind shadows, smoky atmosphere") { Strength = 0.5, ImageSize = "portrait_4_3", Look = "grayscale() contrast(1.7) brightness(-20) vignette(#000000, 0.7) grain(10)" },
        new("renaissance_master", "Renaissance Master", "A Renaissance portrait with chiaroscuro and sfumato.", "{prompt}, Renaissance portrait, chiaroscuro, sfumato, old master painting, dark varnish") { Strength = 0.7, ImageSize = "portrait_4_3", Look = "sepia(0.55) contrast(1.25) brightness(-35) vignette(#1a0f05, 0.8)" },
        new("low_poly", "Low Poly", "A faceted low-polygon 3D rendering.", "{prompt}, low poly 3D render, faceted geometric shapes, flat shading, pastel gradient") { Strength = 0.75, Look = "pixelate(20) blur(1) saturate(1.3) posterize(5)" },
        new("editorial_fashion", "Editorial Fashion", "A glossy magazine fashion shoot.", "{prompt}, high fashion editorial photograph, glossy magazine look, dramatic pose, studio strobe") { Strength = 0.45, ImageSize = "portrait_16_9", Look = "saturate(0.35) contrast(1.45) tint(#d04890, 0.3) brightness(8)" },
        new("ukiyo_e", "Ukiyo-e Print", "A Japanese woodblock print with flat colour and bold outlines.", "{prompt}, ukiyo-e woodblock print, flat color areas, bold outlines, washi paper texture") { Strength = 0.75, Look = "blur(1) posterize(4) tritone(#1c2a48, #c04030, #f0e0c0, 0.55) edges() outline(#1a1a2a, 0.9, 36)" },
        new("vaporwave", "Vaporwave", "Pastel pinks and teals, grids and retro computing.", "{prompt}, vaporwave aesthetic, pastel pink and teal, retro grid, marble bust, 90s computer graphics") { Strength = 0.7, Look = "tritone(#30104a, #ff70c8, #60f0ff, 0.75) scanlines(5, 0.85)" },
        new("vintage_film", "Vintage Film", "Faded 35 mm colour film with grain and light leaks.", "{prompt}, vintage 35mm film photo, faded colors, film grain, light leaks, 1970s") { Strength = 0.4, Look = "sepia(0.35) saturate(0.75) lift(0.14) tint(#ffd8a0, 0.2) grain(22)" },
        new("fantasy_realm", "Fantasy Realm", "An epic fantasy portrait with magical light.", "{prompt}, epic fantasy portrait, magical glowing particles, ornate armor, enchanted forest") { Strength = 0.65, ImageSize = "portrait_4_3", Look = "hue(150) saturate(1.6) glow(10, 0.5) vignette(#102040, 0.6)" },
        new("claymation", "Claymation", "A handmade plasticine stop-motion look.", "{prompt}, claymation, plasticine figure, fingerprint texture, stop-motion set, soft studio light") { Strength = 0.8, Look = "blur(2.5) saturate(1.7) posterize(6) contrast(1.2)" },
        new("double_exposure", "Double Exposure", "A silhouette blended with a forest landscape.", "{prompt}, double exposure photograph, silhouette blended with misty pine forest, monochrome with color accent") { Strength = 0.6, Look = "grayscale() invert() duotone(#0a2a1a, #d8f0d0, 1) blur(1)" },
        new("monochrome_matte", "Monochrome Matte", "Soft matte black and white with lifted shadows.", "{prompt}, matte black and white photograph, lifted shadows, soft contrast, fine grain") { Strength = 0.35, Look = "grayscale() contrast(0.7) lift(0.22)" },
        new("synthwave_sunset", "Synthwave Sunset", "Retro-futurist neon sunset with chrome highlights.", "{prompt}, synthwave, retro-futurist sunset, purple and orange gradient sky, chrome highlights") { Strength = 0.7, ImageSize = "landscape_16_9", Look = "tritone(#1a0030, #ff2080, #ffb040, 0.8) scanlines(4, 0.7) glow(6, 0.3)" },
        new("polaroid_snapshot", "Polaroid Snapshot", "An instant-film snapshot with a washed-out flash look.", "{prompt}, polaroid instant photo, on-camera flash, washed-out colors, white frame") { Strength = 0.4, Look = "lift(0.18) saturate(0.8) tint(#fff0d0, 0.2) frame(#f4f2ec, 14)" },
        new("bokeh_dream", "Bokeh Dream", "A dreamy portrait floating in creamy bokeh lights.", "{prompt}, dreamy portrait, creamy bokeh lights, 50mm f/1.2, soft pastel glow") { Strength = 0.45, Look = "blur(7) glow(14, 0.6) lift(0.15) tint(#ffd0e8, 0.25)" },
        new("chrome_future", "Chrome Future", "Liquid chrome and iridescent sci-fi surfaces.", "{prompt}, futuristic liquid chrome, iridescent reflections, sci-fi studio lighting, sleek") { Strength = 0.7, Look = "grayscale() contrast(1.5) tritone(#101820, #8aa0b0, #e8fcff, 0.8) edges() outline(#60e0ff, 0.6, 40)" },
        new("blockbuster_teal", "Blockbuster Teal & Orange", "The teal-and-orange grade of an action blockbuster.", "{prompt}, action blockbuster still, teal and orange color grade, lens flare, dramatic rim light") { Strength = 0.5, ImageSize = "landscape_16_9", Look = "saturate(1.3) contrast(1.3) split-tone(#008080, #ff8c1a, 0.75)" },
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
