namespace Stefna.Sdk.Providers.Offline.Rendering;

/// <summary>One look per generation type, chosen by the request's type name. Every effect is a pure function of the
/// pixels, the request's parameters and a seed, so the same request gives the same image.</summary>
internal static class Effects
{
    /// <summary>Applies the effect for the request's type and says which one (for the job's metadata).</summary>
    public static string Apply(Raster raster, ProviderRequest request, ulong seed)
    {
        var type = StableHash.Normalize(request.Type);
        var random = new DeterministicRandom(StableHash.Combine(seed, StableHash.Of(type)));
        return type switch
        {
            "neo-glitch" => NeoGlitch(raster, Parameter(request, "style"), random),
            "emotion-mask" => EmotionMask(raster, Parameter(request, "emotion")),
            "presets" => Preset(raster, Parameter(request, "preset") ?? request.Model ?? request.Prompt),
            "ghibli-reaction" => GhibliReaction(raster, Parameter(request, "reaction")),
            "custom-prompt" => CustomPrompt(raster, request.Prompt),
            _ => Generic(raster, type, random),
        };
    }

    private static string? Parameter(ProviderRequest request, string key)
    {
        foreach (var pair in request.Parameters)
        {
            if (string.Equals(pair.Key, key, StringComparison.OrdinalIgnoreCase) && !string.IsNullOrWhiteSpace(pair.Value))
            {
                return StableHash.Normalize(pair.Value);
            }
        }

        return null;
    }

    // Sizes below are given for a 256-pixel image and scaled, so the look is the same at any resolution.
    private static int Scaled(Raster raster, float pixelsAt256) => Math.Max(1, (int)MathF.Round(pixelsAt256 * raster.LongSide / 256f));

    private static readonly Rgb NeonMagenta = new(255, 20, 190);
    private static readonly Rgb NeonCyan = new(0, 240, 255);
    private static readonly Rgb NeonViolet = new(30, 0, 60);

    /// <summary>Neo Tokyo glitch: neon magenta/cyan grade, style overlay, RGB split, displaced slices, scan lines.</summary>
    internal static string NeoGlitch(Raster raster, string? style, DeterministicRandom random)
    {
        style = style is "visor" or "tattoos" or "scanlines" ? style : "base";
        var heavy = style == "scanlines";

        PixelOps.ContrastBrightness(raster, 1.2f, -6f);
        PixelOps.Blend(raster, heavy ? 0.7f : 0.6f, NeonTone);

        if (style == "visor")
        {
            DrawVisor(raster);
        }
        else if (style == "tattoos")
        {
            DrawCircuitTattoos(raster, random);
        }

        PixelOps.ChannelSplit(raster, Scaled(raster, heavy ? 6 : 3), Scaled(raster, 1));
        PixelOps.DisplaceSlices(
            raster,
            random,
            count: heavy ? 14 : 7,
            minHeight: Scaled(raster, 2),
            maxHeight: Scaled(raster, heavy ? 24 : 14),
            maxShift: Scaled(raster, heavy ? 28 : 16));
        if (heavy)
        {
            PixelOps.Scanlines(raster, period: Math.Max(3, Scaled(raster, 3)), darkRows: Math.Max(1, Scaled(raster, 1)), factor: 0.45f);
        }
        else
        {
            PixelOps.Scanlines(raster, period: Math.Max(2, Scaled(raster, 4)), darkRows: Math.Max(1, Scaled(raster, 1)), factor: 0.8f);
        }

        return "neo-glitch:" + style;
    }

    // Neon tri-tone by luminance: violet shadows, magenta mid-tones, cyan highlights.
    private static Rgb NeonTone(Rgb c)
    {
        var t = c.Luma / 255f;
        return t < 0.5f ? Rgb.Lerp(NeonViolet, NeonMagenta, t * 2f) : Rgb.Lerp(NeonMagenta, NeonCyan, (t - 0.5f) * 2f);
    }

    // A glowing holographic band across the eye line with HUD rules.
    private static void DrawVisor(Raster raster)
    {
        var top = (int)(raster.Height * 0.34f);
        var height = Math.Max(4, (int)(raster.Height * 0.12f));
        var left = (int)(raster.Width * 0.12f);
        var width = (int)(raster.Width * 0.76f);
        PixelOps.FillRect(raster, left, top, width, height, new Rgb(0, 255, 235), 0.55f);
        var rule = Scaled(raster, 1);
        for (var y = top; y < top + height; y += Scaled(raster, 4))
        {
            PixelOps.FillRect(raster, left, y, width, rule, new Rgb(200, 255, 255), 0.5f);
        }

        PixelOps.FillRect(raster, left, top, width, rule * 2, Rgb.White, 0.85f);
        PixelOps.FillRect(raster, left, top + height - (rule * 2), width, rule * 2, NeonMagenta, 0.85f);
    }

    // Luminous circuit traces: a few right-angled paths ending in pads.
    private static void DrawCircuitTattoos(Raster raster, DeterministicRandom random)
    {
        var thickness = Scaled(raster, 1.5f);
        var pad = thickness * 3;
        for (var trace = 0; trace < 16; trace++)
        {
            var color = trace % 2 == 0 ? NeonCyan : NeonMagenta;
            var x = random.Next(0, raster.Width);
            var y = random.Next(0, raster.Height);
            var segments = random.Next(3, 6);
            for (var s = 0; s < segments; s++)
            {
                var length = random.Next(Scaled(raster, 12), Scaled(raster, 48));
                var horizontal = s % 2 == 0;
                var sign = random.NextFloat() < 0.5f ? -1 : 1;
                if (horizontal)
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

    private sealed record EmotionGrade(Rgb Tint, float Saturation, float Brightness, float Contrast);

    private static readonly Dictionary<string, EmotionGrade> Emotions = new(StringComparer.Ordinal)
    {
        ["joy"] = new(new Rgb(255, 200, 40), 1.3f, 14f, 1.05f),
        ["sadness"] = new(new Rgb(60, 110, 255), 0.55f, -12f, 0.92f),
        ["anger"] = new(new Rgb(255, 40, 30), 1.4f, -6f, 1.25f),
        ["fear"] = new(new Rgb(40, 140, 60), 0.65f, -34f, 1.15f),
        ["surprise"] = new(new Rgb(255, 250, 225), 1.15f, 34f, 1.1f),
        ["calm"] = new(new Rgb(40, 200, 190), 0.85f, 4f, 0.9f),
        ["love"] = new(new Rgb(255, 105, 180), 1.1f, 10f, 1.0f),
        ["disgust"] = new(new Rgb(150, 170, 40), 0.8f, -10f, 1.1f),
    };

    private static readonly Dictionary<string, string> EmotionAliases = new(StringComparer.Ordinal)
    {
        ["happy"] = "joy",
        ["happiness"] = "joy",
        ["sad"] = "sadness",
        ["angry"] = "anger",
        ["rage"] = "anger",
        ["afraid"] = "fear",
        ["scared"] = "fear",
        ["surprised"] = "surprise",
        ["peace"] = "calm",
        ["peaceful"] = "calm",
        ["serene"] = "calm",
        ["romance"] = "love",
        ["disgusted"] = "disgust",
    };

    /// <summary>Emotion mask: a colour grade for the emotion, then a tinted mask outside an oval around the face with a glowing rim.</summary>
    internal static string EmotionMask(Raster raster, string? emotion)
    {
        var key = emotion is null ? "neutral" : EmotionAliases.GetValueOrDefault(emotion, emotion);
        if (!Emotions.TryGetValue(key, out var grade))
        {
            // Unknown emotions still get their own look: a tint whose hue comes from the name.
            var hue = StableHash.Of(key) % 360;
            grade = new EmotionGrade(Rgb.FromHsv(hue, 0.8f, 1f), 1.0f, 0f, 1.05f);
        }

        PixelOps.Saturate(raster, grade.Saturation);
        PixelOps.ContrastBrightness(raster, grade.Contrast, grade.Brightness);
        PixelOps.Blend(raster, 0.4f, c => grade.Tint.Scale(Math.Min(1.2f, c.Luma / 255f * 1.15f)));

        // The mask: outside an oval (a face's place in a portrait) toward a dark shade of the tint, with a glowing rim.
        const float cx = 0.5f, cy = 0.45f, rx = 0.36f, ry = 0.46f, rim = 0.05f;
        var shade = grade.Tint.Scale(0.22f);
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
                    c = Rgb.Lerp(c, Rgb.Lerp(grade.Tint, Rgb.White, 0.3f), glow * 0.65f);
                }

                p[i] = Rgb.ToByte(c.R);
                p[i + 1] = Rgb.ToByte(c.G);
                p[i + 2] = Rgb.ToByte(c.B);
            }
        }

        return "emotion-mask:" + key;
    }

    /// <summary>A colour grade: saturation, then per channel lift (black level), gamma and gain (white level), then an S-curve.</summary>
    private sealed record Grade(string Name, float Saturation, float Contrast, Rgb Lift, Rgb Gamma, Rgb Gain);

    private static readonly Grade[] Grades =
    [
        new("cinematic", 1.1f, 0.5f, new Rgb(0f, 0.04f, 0.08f), new Rgb(1f, 1f, 1f), new Rgb(1.06f, 0.98f, 0.86f)),
        new("vintage", 0.7f, 0.2f, new Rgb(0.10f, 0.08f, 0.04f), new Rgb(1.05f, 1f, 0.95f), new Rgb(0.96f, 0.92f, 0.8f)),
        new("noir", 0f, 0.9f, new Rgb(0f, 0f, 0f), new Rgb(0.9f, 0.9f, 0.9f), new Rgb(1f, 1f, 1f)),
        new("golden", 1.2f, 0.3f, new Rgb(0.03f, 0.01f, 0f), new Rgb(1.1f, 1f, 0.9f), new Rgb(1.1f, 0.97f, 0.78f)),
        new("arctic", 0.85f, 0.3f, new Rgb(0f, 0.03f, 0.07f), new Rgb(0.95f, 1f, 1.08f), new Rgb(0.85f, 0.97f, 1.1f)),
        new("vivid", 1.65f, 0.6f, new Rgb(0f, 0f, 0f), new Rgb(1f, 1f, 1f), new Rgb(1.03f, 1.03f, 1.03f)),
        new("matte", 0.85f, 0f, new Rgb(0.14f, 0.13f, 0.12f), new Rgb(1.05f, 1.05f, 1.05f), new Rgb(0.9f, 0.9f, 0.88f)),
        new("sepia", 0f, 0.25f, new Rgb(0.06f, 0.03f, 0f), new Rgb(1.05f, 1f, 0.9f), new Rgb(1.05f, 0.88f, 0.66f)),
    ];

    // Words in a preset key that pick a grade by meaning; other keys pick one by hash.
    private static readonly (string Word, string Grade)[] GradeWords =
    [
        ("noir", "noir"), ("mono", "noir"), ("black", "noir"), ("bw", "noir"),
        ("sepia", "sepia"), ("antique", "sepia"),
        ("vintage", "vintage"), ("film", "vintage"), ("retro", "vintage"),
        ("golden", "golden"), ("warm", "golden"), ("sunset", "golden"),
        ("cinema", "cinematic"), ("teal", "cinematic"), ("movie", "cinematic"),
        ("arctic", "arctic"), ("cool", "arctic"), ("winter", "arctic"), ("ice", "arctic"),
        ("vivid", "vivid"), ("pop", "vivid"), ("bold", "vivid"),
        ("matte", "matte"), ("fade", "matte"), ("soft", "matte"),
    ];

    /// <summary>Professional preset: a tone curve and grade picked from the preset key, varied slightly by its hash so that
    /// no two keys look the same.</summary>
    internal static string Preset(Raster raster, string? presetKey)
    {
        var key = StableHash.Normalize(presetKey);
        var hash = StableHash.Of(key);
        var grade = Grades[hash % (uint)Grades.Length];
        var words = key.Split('-', StringSplitOptions.RemoveEmptyEntries);
        foreach (var (word, name) in GradeWords)
        {
            if (Array.Exists(words, w => w.StartsWith(word, StringComparison.Ordinal)))
            {
                grade = Array.Find(Grades, g => g.Name == name)!;
                break;
            }
        }

        // The key's own variation on its grade, so keys sharing a grade still differ: a split tone (one hue in the
        // shadows, another in the highlights), a hue shift and a contrast change, all from the key's hash.
        var shadowTone = Rgb.FromHsv(hash % 360, 0.6f, 0.5f);
        var highlightTone = Rgb.FromHsv((hash % 360) + 90 + ((hash >> 9) % 180), 0.35f, 1f);
        var hueShift = ((int)((hash >> 17) % 41)) - 20;
        var contrast = grade.Contrast + ((((int)((hash >> 24) % 31)) - 15) / 100f);
        PixelOps.Saturate(raster, grade.Saturation);
        PixelOps.Lut(raster, Curve(grade.Lift.R, grade.Gamma.R, grade.Gain.R, contrast), Curve(grade.Lift.G, grade.Gamma.G, grade.Gain.G, contrast), Curve(grade.Lift.B, grade.Gamma.B, grade.Gain.B, contrast));
        PixelOps.Blend(raster, 0.3f, c =>
        {
            var t = c.Luma / 255f;
            var tone = Rgb.Lerp(shadowTone, highlightTone, t);
            return PixelOps.Overlay(c, tone);
        });
        if (grade.Saturation > 0f && hueShift != 0)
        {
            PixelOps.HueRotate(raster, hueShift);
        }

        return "presets:" + grade.Name;
    }

    private static byte[] Curve(float lift, float gamma, float gain, float contrast)
    {
        var lut = new byte[256];
        for (var v = 0; v < 256; v++)
        {
            var x = v / 255f;
            x = x + (lift * (1 - x));
            x = MathF.Pow(Math.Clamp(x, 0f, 1f), 1f / gamma) * gain;
            x = Math.Clamp(x, 0f, 1f);
            var s = x * x * (3 - (2 * x));
            x += (s - x) * contrast;
            lut[v] = Rgb.ToByte(x * 255f);
        }

        return lut;
    }

    private sealed record Reaction(Rgb Warmth, int Levels, float Outline, float Lift, float Saturation);

    private static readonly Dictionary<string, Reaction> Reactions = new(StringComparer.Ordinal)
    {
        ["neutral"] = new(new Rgb(255, 236, 205), 6, 0.6f, 0.08f, 1.1f),
        ["happy"] = new(new Rgb(255, 225, 150), 7, 0.5f, 0.12f, 1.25f),
        ["sad"] = new(new Rgb(170, 190, 255), 5, 0.5f, 0.05f, 0.7f),
        ["surprised"] = new(new Rgb(255, 245, 230), 8, 0.9f, 0.10f, 1.15f),
        ["angry"] = new(new Rgb(255, 170, 150), 5, 0.9f, 0.02f, 1.2f),
        ["love"] = new(new Rgb(255, 200, 220), 6, 0.5f, 0.12f, 1.1f),
        ["sleepy"] = new(new Rgb(205, 195, 245), 5, 0.35f, 0.04f, 0.85f),
        ["starry-eyed"] = new(new Rgb(255, 240, 205), 8, 0.45f, 0.15f, 1.35f),
    };

    private static readonly Dictionary<string, string> ReactionAliases = new(StringComparer.Ordinal)
    {
        ["joy"] = "happy",
        ["laugh"] = "happy",
        ["smile"] = "happy",
        ["cry"] = "sad",
        ["crying"] = "sad",
        ["tears"] = "sad",
        ["surprise"] = "surprised",
        ["shock"] = "surprised",
        ["shocked"] = "surprised",
        ["wow"] = "surprised",
        ["anger"] = "angry",
        ["mad"] = "angry",
        ["heart"] = "love",
        ["blush"] = "love",
        ["blushing"] = "love",
        ["laughing"] = "happy",
        ["sleep"] = "sleepy",
        ["starry"] = "starry-eyed",
    };

    /// <summary>Whether a reaction name has a designed look (directly or by alias) rather than the hashed fallback.</summary>
    internal static bool HasDesignedReaction(string reactionName) =>
        Reactions.ContainsKey(ReactionAliases.GetValueOrDefault(reactionName, reactionName));

    /// <summary>Painterly anime look: softened, pastel, posterised into flat areas, with a light ink outline; the reaction
    /// sets warmth, flatness and line weight.</summary>
    internal static string GhibliReaction(Raster raster, string? reactionName)
    {
        var key = reactionName is null ? "neutral" : ReactionAliases.GetValueOrDefault(reactionName, reactionName);
        if (!Reactions.TryGetValue(key, out var reaction))
        {
            var hash = StableHash.Of(key);
            reaction = new Reaction(Rgb.FromHsv(hash % 360, 0.25f, 1f), 5 + (int)((hash >> 9) % 4), 0.4f + (((hash >> 12) % 5) / 10f), 0.08f, 1.1f);
        }

        PixelOps.BoxBlur(raster, Scaled(raster, 1.5f), passes: 2);
        var edges = PixelOps.EdgeMagnitude(raster);
        PixelOps.Saturate(raster, reaction.Saturation);
        PixelOps.Posterize(raster, reaction.Levels);
        PixelOps.BoxBlur(raster, Math.Max(1, Scaled(raster, 0.6f)), passes: 1); // soften the posterised steps into washes
        var warmth = reaction.Warmth;
        var lift = reaction.Lift;
        PixelOps.Blend(raster, 1f, c =>
        {
            // Pastel: lift toward white, then tint by the reaction's light.
            var pastel = Rgb.Lerp(c, Rgb.White, lift);
            return new Rgb(pastel.R * warmth.R / 255f, pastel.G * warmth.G / 255f, pastel.B * warmth.B / 255f);
        });
        PixelOps.Outline(raster, edges, threshold: 48f, color: new Rgb(62, 44, 38), strength: reaction.Outline);
        return "ghibli-reaction:" + key;
    }

    /// <summary>Custom prompt: a duotone whose two colours come from the prompt's hash, over a hue rotation of the source.</summary>
    internal static string CustomPrompt(Raster raster, string? prompt)
    {
        var hash = StableHash.Of(StableHash.Normalize(prompt));
        var hue = hash % 360;
        var dark = Rgb.FromHsv(hue, 0.85f, 0.22f);
        var light = Rgb.FromHsv(hue + 120 + ((hash >> 9) % 120), 0.45f, 1f);
        var rotation = 60 + ((hash >> 17) % 240);
        PixelOps.HueRotate(raster, rotation);
        PixelOps.Blend(raster, 0.7f, c => PixelOps.Duotone(c, dark, light));
        return $"custom-prompt:duotone-{hue}";
    }

    /// <summary>Any other type: a hue rotation and contrast set by the type name's hash, film grain and a vignette.</summary>
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
