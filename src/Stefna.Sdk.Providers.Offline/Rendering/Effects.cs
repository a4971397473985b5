using System.Globalization;
using System.Text.RegularExpressions;

namespace Stefna.Sdk.Providers.Offline.Rendering;

/// <summary>
/// Applies a request's look: the recipe its type's package wrote (<see cref="ProviderRequest.Look"/>), a list of image
/// operations such as <c>saturate(1.3) posterize(5) outline(#3e2c26, 0.6)</c>, or, when the request carries none, a
/// generic look of the type's own. No type is named here: the looks belong to the types. Every operation is a pure
/// function of the pixels, its arguments and the seed, so the same request gives the same image.
/// </summary>
internal static partial class Effects
{
    /// <summary>Applies the request's look and says which one (for the job's metadata).</summary>
    /// <exception cref="GenerationException">The look names an unknown operation or has a malformed argument
    /// (<see cref="GenerationErrorCategory.InvalidRequest"/>).</exception>
    public static string Apply(Raster raster, ProviderRequest request, ulong seed)
    {
        if (string.IsNullOrWhiteSpace(request.Look))
        {
            var type = StableHash.Normalize(request.Type);
            return Generic(raster, type, new DeterministicRandom(StableHash.Combine(seed, StableHash.Of(type))));
        }

        // The look alone decides (with the seed and, for `auto` arguments, the prompt): not the type's name.
        var steps = Parse(request.Look);
        var context = new LookContext(raster, new DeterministicRandom(seed), StableHash.Of(StableHash.Normalize(request.Prompt)));
        foreach (var step in steps)
        {
            Run(context, step);
        }

        return $"look:{string.Join('+', steps.Select(s => s.Name))}";
    }

    /// <summary>The operations a look may use, with their arguments; unknown names are refused.</summary>
    public static IReadOnlyList<string> Operations { get; } =
    [
        "grayscale()", "invert()", "saturate(amount)", "contrast(amount)", "brightness(offset)", "hue(degrees|auto)",
        "sepia(amount)", "lift(amount)", "tint(#rgb, amount)", "duotone(#dark|auto, #light|auto, amount)",
        "tritone(#shadows, #midtones, #highlights, amount)", "split-tone(#shadows, #highlights, amount)",
        "posterize(levels)", "blur(radius)", "glow(radius, amount)", "edges()", "outline(#rgb, strength[, threshold])",
        "sketch(strength)", "pixelate(block)", "halftone(cell, #ink, #paper)", "rgb-split(shift)", "slices(count, shift)",
        "scanlines(period, factor)", "grain(amount)", "vignette(#rgb, strength)", "oval-mask(#rgb)", "visor(#rgb)",
        "circuits(count)", "frame(#rgb, width)",
    ];

    /// <summary>One parsed operation.</summary>
    internal sealed record Step(string Name, IReadOnlyList<string> Arguments);

    /// <summary>Parses a look into its steps; throws an invalid-request error naming what is wrong.</summary>
    internal static IReadOnlyList<Step> Parse(string look)
    {
        var steps = new List<Step>();
        var position = 0;
        foreach (Match match in StepPattern().Matches(look))
        {
            if (match.Index != position || match.Length == 0)
            {
                break;
            }

            var name = match.Groups["name"].Value;
            var arguments = match.Groups["args"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (!Operations.Any(o => o.StartsWith(name + "(", StringComparison.Ordinal)))
            {
                throw Invalid($"unknown operation '{name}'");
            }

            steps.Add(new Step(name, arguments));
            position = match.Index + match.Length;
        }

        if (position != look.Length)
        {
            throw Invalid($"cannot read '{Truncate(look[position..])}'");
        }

        return steps;
    }

    [GeneratedRegex(@"\G\s*(?<name>[a-z][a-z-]*)\((?<args>[^()]*)\)\s*", RegexOptions.CultureInvariant)]
    private static partial Regex StepPattern();

    private static GenerationException Invalid(string what) =>
        new(GenerationErrorCategory.InvalidRequest, $"The offline look is not valid: {what}. Operations: {string.Join(", ", Operations)}.", "invalid_look");

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";

    private sealed class LookContext(Raster raster, DeterministicRandom random, uint promptHash)
    {
        public Raster Raster { get; } = raster;

        public DeterministicRandom Random { get; } = random;

        public uint PromptHash { get; } = promptHash;

        public float[]? Edges { get; set; }
    }

    private static void Run(LookContext c, Step step)
    {
        var r = c.Raster;
        var a = step.Arguments;
        switch (step.Name)
        {
            case "grayscale": PixelOps.Saturate(r, 0f); break;
            case "invert": PixelOps.Blend(r, 1f, x => new Rgb(255f - x.R, 255f - x.G, 255f - x.B)); break;
            case "saturate": PixelOps.Saturate(r, Number(step, 0)); break;
            case "contrast": PixelOps.ContrastBrightness(r, Number(step, 0), 0f); break;
            case "brightness": PixelOps.ContrastBrightness(r, 1f, Number(step, 0)); break;
            case "hue": PixelOps.HueRotate(r, IsAuto(step, 0) ? 60 + (c.PromptHash >> 17) % 240 : Number(step, 0)); break;
            case "sepia": PixelOps.Blend(r, Number(step, 0), Sepia); break;
            case "lift": var lift = Number(step, 0); PixelOps.Blend(r, lift, _ => Rgb.White); break;
            case "tint":
                var tint = Color(step, 0, c);
                PixelOps.Blend(r, Number(step, 1), x => tint.Scale(Math.Min(1.2f, x.Luma / 255f * 1.15f)));
                break;
            case "duotone":
                var dark = IsAuto(step, 0) ? Rgb.FromHsv(c.PromptHash % 360, 0.85f, 0.22f) : Color(step, 0, c);
                var light = IsAuto(step, 1) ? Rgb.FromHsv((c.PromptHash % 360) + 120 + ((c.PromptHash >> 9) % 120), 0.45f, 1f) : Color(step, 1, c);
                PixelOps.Blend(r, Number(step, 2), x => PixelOps.Duotone(x, dark, light));
                break;
            case "tritone":
                var (s, m, h) = (Color(step, 0, c), Color(step, 1, c), Color(step, 2, c));
                PixelOps.Blend(r, Number(step, 3), x =>
                {
                    var t = x.Luma / 255f;
                    return t < 0.5f ? Rgb.Lerp(s, m, t * 2f) : Rgb.Lerp(m, h, (t - 0.5f) * 2f);
                });
                break;
            case "split-tone":
                var (shadows, highlights) = (Color(step, 0, c), Color(step, 1, c));
                PixelOps.Blend(r, Number(step, 2), x => PixelOps.Overlay(x, Rgb.Lerp(shadows, highlights, x.Luma / 255f)));
                break;
            case "posterize": PixelOps.Posterize(r, (int)Number(step, 0)); break;
            case "blur": PixelOps.BoxBlur(r, Scaled(r, Number(step, 0)), passes: 2); break;
            case "glow": Glow(r, Scaled(r, Number(step, 0)), Number(step, 1)); break;
            case "edges": c.Edges = PixelOps.EdgeMagnitude(r); break;
            case "outline":
                PixelOps.Outline(r, c.Edges ?? PixelOps.EdgeMagnitude(r), a.Count > 2 ? Number(step, 2) : 48f, Color(step, 0, c), Number(step, 1));
                break;
            case "sketch": Sketch(r, Number(step, 0)); break;
            case "pixelate": Pixelate(r, Scaled(r, Number(step, 0))); break;
            case "halftone": Halftone(r, Math.Max(3, Scaled(r, Number(step, 0))), Color(step, 1, c), Color(step, 2, c)); break;
            case "rgb-split": PixelOps.ChannelSplit(r, Scaled(r, Number(step, 0)), Scaled(r, 1)); break;
            case "slices":
                var shift = Number(step, 1);
                PixelOps.DisplaceSlices(r, c.Random, count: (int)Number(step, 0), minHeight: Scaled(r, 2), maxHeight: Scaled(r, shift * 0.9f), maxShift: Scaled(r, shift));
                break;
            case "scanlines": PixelOps.Scanlines(r, period: Math.Max(2, Scaled(r, Number(step, 0))), darkRows: Scaled(r, 1), factor: Number(step, 1)); break;
            case "grain": PixelOps.Grain(r, c.Random, Number(step, 0)); break;
            case "vignette": PixelOps.Vignette(r, Color(step, 0, c), Number(step, 1)); break;
            case "oval-mask": OvalMask(r, Color(step, 0, c)); break;
            case "visor": DrawVisor(r, Color(step, 0, c)); break;
            case "circuits": DrawCircuits(r, c.Random, (int)Number(step, 0)); break;
            case "frame": Frame(r, Color(step, 0, c), Scaled(r, Number(step, 1))); break;
            default: throw Invalid($"unknown operation '{step.Name}'"); // Parse refuses these first
        }
    }

    private static bool IsAuto(Step step, int index) => index < step.Arguments.Count && step.Arguments[index] == "auto";

    private static float Number(Step step, int index)
    {
        if (index >= step.Arguments.Count || !float.TryParse(step.Arguments[index], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !float.IsFinite(value))
        {
            throw Invalid($"{step.Name}() needs a number as argument {index + 1}");
        }

        return value;
    }

    private static Rgb Color(Step step, int index, LookContext context)
    {
        if (IsAuto(step, index))
        {
            return Rgb.FromHsv((context.PromptHash + ((uint)index * 97)) % 360, 0.7f, 0.9f);
        }

        var text = index < step.Arguments.Count ? step.Arguments[index] : string.Empty;
        if (text.Length == 7 && text[0] == '#' && uint.TryParse(text.AsSpan(1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var rgb))
        {
            return new Rgb((rgb >> 16) & 0xFF, (rgb >> 8) & 0xFF, rgb & 0xFF);
        }

        throw Invalid($"{step.Name}() needs a colour #rrggbb as argument {index + 1}");
    }

    // Sizes in looks are given for a 256-pixel image and scaled, so a look is the same at any resolution.
    private static int Scaled(Raster raster, float pixelsAt256) => Math.Max(1, (int)MathF.Round(pixelsAt256 * raster.LongSide / 256f));

    private static Rgb Sepia(Rgb c) => new(
        (0.393f * c.R) + (0.769f * c.G) + (0.189f * c.B),
        (0.349f * c.R) + (0.686f * c.G) + (0.168f * c.B),
        (0.272f * c.R) + (0.534f * c.G) + (0.131f * c.B));

    // Bloom: a blurred copy screened over the image.
    private static void Glow(Raster raster, int radius, float amount)
    {
        var blurred = raster.Clone();
        PixelOps.BoxBlur(blurred, radius, passes: 2);
        var p = raster.Pixels;
        var q = blurred.Pixels;
        for (var i = 0; i < p.Length; i += 4)
        {
            for (var k = 0; k < 3; k++)
            {
                var screen = 255f - ((255f - p[i + k]) * (255f - q[i + k]) / 255f);
                p[i + k] = Rgb.ToByte(p[i + k] + ((screen - p[i + k]) * amount));
            }
        }
    }

    // Pencil sketch: grey, then a colour dodge of the grey by its blurred negative (lines where the tone changes).
    private static void Sketch(Raster raster, float strength)
    {
        PixelOps.Saturate(raster, 0f);
        var negative = raster.Clone();
        PixelOps.Blend(negative, 1f, x => new Rgb(255f - x.R, 255f - x.G, 255f - x.B));
        PixelOps.BoxBlur(negative, Scaled(raster, 3), passes: 2);
        var p = raster.Pixels;
        var q = negative.Pixels;
        for (var i = 0; i < p.Length; i += 4)
        {
            var dodge = q[i] >= 255 ? 255f : Math.Min(255f, p[i] * 255f / (255f - q[i]));
            var v = p[i] + ((dodge - p[i]) * strength);
            p[i] = p[i + 1] = p[i + 2] = Rgb.ToByte(v);
        }
    }

    // Square blocks of their mean colour.
    private static void Pixelate(Raster raster, int block)
    {
        var p = raster.Pixels;
        for (var by = 0; by < raster.Height; by += block)
        {
            for (var bx = 0; bx < raster.Width; bx += block)
            {
                int x1 = Math.Min(bx + block, raster.Width), y1 = Math.Min(by + block, raster.Height);
                float r = 0, g = 0, b = 0;
                var n = 0;
                for (var y = by; y < y1; y++)
                {
                    for (var x = bx; x < x1; x++)
                    {
                        var i = raster.IndexOf(x, y);
                        r += p[i];
                        g += p[i + 1];
                        b += p[i + 2];
                        n++;
                    }
                }

                PixelOps.FillRect(raster, bx, by, x1 - bx, y1 - by, new Rgb(r / n, g / n, b / n), 1f);
            }
        }
    }

    // Print dots: each cell becomes paper with an ink dot whose area follows the cell's darkness.
    private static void Halftone(Raster raster, int cell, Rgb ink, Rgb paper)
    {
        var p = raster.Pixels;
        for (var cy = 0; cy < raster.Height; cy += cell)
        {
            for (var cx = 0; cx < raster.Width; cx += cell)
            {
                int x1 = Math.Min(cx + cell, raster.Width), y1 = Math.Min(cy + cell, raster.Height);
                float luma = 0;
                var n = 0;
                for (var y = cy; y < y1; y++)
                {
                    for (var x = cx; x < x1; x++)
                    {
                        var i = raster.IndexOf(x, y);
                        luma += new Rgb(p[i], p[i + 1], p[i + 2]).Luma;
                        n++;
                    }
                }

                var radius = cell * 0.75f * MathF.Sqrt(1f - (luma / n / 255f));
                var (mx, my) = (cx + (cell / 2f), cy + (cell / 2f));
                for (var y = cy; y < y1; y++)
                {
                    for (var x = cx; x < x1; x++)
                    {
                        var d = MathF.Sqrt(((x + 0.5f - mx) * (x + 0.5f - mx)) + ((y + 0.5f - my) * (y + 0.5f - my)));
                        var color = d <= radius ? ink : paper;
                        var i = raster.IndexOf(x, y);
                        p[i] = Rgb.ToByte(color.R);
                        p[i + 1] = Rgb.ToByte(color.G);
                        p[i + 2] = Rgb.ToByte(color.B);
                    }
                }
            }
        }
    }

    // Outside an oval (a face's place in a portrait) toward a dark shade of the colour, with a glowing rim.
    private static void OvalMask(Raster raster, Rgb tint)
    {
        const float cx = 0.5f, cy = 0.45f, rx = 0.36f, ry = 0.46f, rim = 0.05f;
        var shade = tint.Scale(0.22f);
        var glowColor = Rgb.Lerp(tint, Rgb.White, 0.3f);
        var p = raster.Pixels;
        for (var y = 0; y < raster.Height; y++)
        {
            var dy = (((y + 0.5f) / raster.Height) - cy) / ry;
            for (var x = 0; x < raster.Width; x++)
            {
                var dx = (((x + 0.5f) / raster.Width) - cx) / rx;
                var d = MathF.Sqrt((dx * dx) + (dy * dy));
                var i = raster.IndexOf(x, y);
                var c = new Rgb(p[i], p[i + 1], p[i + 2]);
                if (d > 1f)
                {
                    c = Rgb.Lerp(c, shade, Math.Min(1f, (d - 1f) / 0.2f) * 0.7f);
                }

                var glow = 1f - (MathF.Abs(d - 1f) / rim);
                if (glow > 0f)
                {
                    c = Rgb.Lerp(c, glowColor, glow * 0.65f);
                }

                p[i] = Rgb.ToByte(c.R);
                p[i + 1] = Rgb.ToByte(c.G);
                p[i + 2] = Rgb.ToByte(c.B);
            }
        }
    }

    // A glowing band across the eye line with HUD rules.
    private static void DrawVisor(Raster raster, Rgb color)
    {
        var top = (int)(raster.Height * 0.34f);
        var height = Math.Max(4, (int)(raster.Height * 0.12f));
        var left = (int)(raster.Width * 0.12f);
        var width = (int)(raster.Width * 0.76f);
        PixelOps.FillRect(raster, left, top, width, height, color, 0.55f);
        var rule = Scaled(raster, 1);
        for (var y = top; y < top + height; y += Scaled(raster, 4))
        {
            PixelOps.FillRect(raster, left, y, width, rule, Rgb.Lerp(color, Rgb.White, 0.7f), 0.5f);
        }

        PixelOps.FillRect(raster, left, top, width, rule * 2, Rgb.White, 0.85f);
        PixelOps.FillRect(raster, left, top + height - (rule * 2), width, rule * 2, color, 0.85f);
    }

    // Luminous circuit traces: right-angled paths ending in pads, alternating two neon colours.
    private static void DrawCircuits(Raster raster, DeterministicRandom random, int count)
    {
        var thickness = Scaled(raster, 1.5f);
        var pad = thickness * 3;
        for (var trace = 0; trace < count; trace++)
        {
            var color = trace % 2 == 0 ? new Rgb(0, 240, 255) : new Rgb(255, 20, 190);
            var x = random.Next(0, raster.Width);
            var y = random.Next(0, raster.Height);
            var segments = random.Next(3, 6);
            for (var s = 0; s < segments; s++)
            {
                var length = random.Next(Scaled(raster, 12), Scaled(raster, 48));
                var sign = random.NextFloat() < 0.5f ? -1 : 1;
                if (s % 2 == 0)
                {
                    var x2 = x + (sign * length);
                    PixelOps.FillRect(raster, Math.Min(x, x2), y, Math.Abs(x2 - x) + thickness, thickness, color, 0.9f, additive: true);
                    x = x2;
                }
                else
                {
                    var y2 = y + (sign * length);
                    PixelOps.FillRect(raster, x, Math.Min(y, y2), thickness, Math.Abs(y2 - y) + thickness, color, 0.9f, additive: true);
                    y = y2;
                }
            }

            PixelOps.FillRect(raster, x - (pad / 2), y - (pad / 2), pad, pad, Rgb.White, 0.9f);
        }
    }

    private static void Frame(Raster raster, Rgb color, int width)
    {
        PixelOps.FillRect(raster, 0, 0, raster.Width, width, color, 1f);
        PixelOps.FillRect(raster, 0, raster.Height - width, raster.Width, width, color, 1f);
        PixelOps.FillRect(raster, 0, 0, width, raster.Height, color, 1f);
        PixelOps.FillRect(raster, raster.Width - width, 0, width, raster.Height, color, 1f);
    }

    /// <summary>A request without a look: a hue rotation and contrast set by the type name's hash, film grain and a vignette.</summary>
    internal static string Generic(Raster raster, string type, DeterministicRandom random)
    {
        var hash = StableHash.Of(type);
        var rotation = 40 + (hash % 280);
        PixelOps.HueRotate(raster, rotation);
        PixelOps.ContrastBrightness(raster, 1.1f + (((hash >> 10) % 20) / 100f), 0f);
        PixelOps.Grain(raster, random, 14f);
        PixelOps.Vignette(raster, Rgb.Black, 0.45f);
        return $"generic:hue-{rotation}";
    }
}
