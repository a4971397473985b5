namespace Stefna.Sdk.Providers.Offline.Rendering;

/// <summary>The pixel operations the effects are built from. Each works in place on a <see cref="Raster"/>, leaves
/// alpha alone, and uses only deterministic arithmetic.</summary>
internal static class PixelOps
{
    /// <summary>Applies a 3×4 colour matrix (rows R, G, B; the fourth column is an offset on the 0–255 scale).</summary>
    public static void ColorMatrix(Raster raster, ReadOnlySpan<float> m)
    {
        if (m.Length != 12)
        {
            throw new ArgumentException("A colour matrix has 12 entries.", nameof(m));
        }

        var p = raster.Pixels;
        for (var i = 0; i < p.Length; i += 4)
        {
            float r = p[i], g = p[i + 1], b = p[i + 2];
            p[i] = Rgb.ToByte((m[0] * r) + (m[1] * g) + (m[2] * b) + m[3]);
            p[i + 1] = Rgb.ToByte((m[4] * r) + (m[5] * g) + (m[6] * b) + m[7]);
            p[i + 2] = Rgb.ToByte((m[8] * r) + (m[9] * g) + (m[10] * b) + m[11]);
        }
    }

    /// <summary>Rotates hues by <paramref name="degrees"/>, keeping luminance (the standard luminance-preserving matrix).</summary>
    public static void HueRotate(Raster raster, float degrees) => ColorMatrix(raster, HueRotationMatrix(degrees));

    public static float[] HueRotationMatrix(float degrees)
    {
        var rad = degrees * MathF.PI / 180f;
        var cos = MathF.Cos(rad);
        var sin = MathF.Sin(rad);
        return
        [
            0.213f + (cos * 0.787f) - (sin * 0.213f), 0.715f - (cos * 0.715f) - (sin * 0.715f), 0.072f - (cos * 0.072f) + (sin * 0.928f), 0,
            0.213f - (cos * 0.213f) + (sin * 0.143f), 0.715f + (cos * 0.285f) + (sin * 0.140f), 0.072f - (cos * 0.072f) - (sin * 0.283f), 0,
            0.213f - (cos * 0.213f) - (sin * 0.787f), 0.715f - (cos * 0.715f) + (sin * 0.715f), 0.072f + (cos * 0.928f) + (sin * 0.072f), 0,
        ];
    }

    /// <summary>Scales saturation (0 = grey, 1 = unchanged, above 1 = more vivid).</summary>
    public static void Saturate(Raster raster, float amount)
    {
        const float lr = 0.2126f, lg = 0.7152f, lb = 0.0722f;
        var s = amount;
        ColorMatrix(raster,
        [
            lr + ((1 - lr) * s), lg - (lg * s), lb - (lb * s), 0,
            lr - (lr * s), lg + ((1 - lg) * s), lb - (lb * s), 0,
            lr - (lr * s), lg - (lg * s), lb + ((1 - lb) * s), 0,
        ]);
    }

    /// <summary>Contrast around mid-grey and a brightness offset: <c>(v - 128) * contrast + 128 + brightness</c>.</summary>
    public static void ContrastBrightness(Raster raster, float contrast, float brightness)
    {
        var offset = (128f * (1 - contrast)) + brightness;
        ColorMatrix(raster, [contrast, 0, 0, offset, 0, contrast, 0, offset, 0, 0, contrast, offset]);
    }

    /// <summary>Maps each channel through a 256-entry lookup table.</summary>
    public static void Lut(Raster raster, byte[] red, byte[] green, byte[] blue)
    {
        var p = raster.Pixels;
        for (var i = 0; i < p.Length; i += 4)
        {
            p[i] = red[p[i]];
            p[i + 1] = green[p[i + 1]];
            p[i + 2] = blue[p[i + 2]];
        }
    }

    /// <summary>Blends each pixel toward a colour computed from it, by <paramref name="amount"/>.</summary>
    public static void Blend(Raster raster, float amount, Func<Rgb, Rgb> target)
    {
        var p = raster.Pixels;
        for (var i = 0; i < p.Length; i += 4)
        {
            var source = new Rgb(p[i], p[i + 1], p[i + 2]);
            var mixed = Rgb.Lerp(source, target(source), amount);
            p[i] = Rgb.ToByte(mixed.R);
            p[i + 1] = Rgb.ToByte(mixed.G);
            p[i + 2] = Rgb.ToByte(mixed.B);
        }
    }

    /// <summary>Overlay blend of a colour onto the image: darks get darker, lights lighter, both take the colour.</summary>
    public static Rgb Overlay(Rgb baseColor, Rgb top) => new(Overlay(baseColor.R, top.R), Overlay(baseColor.G, top.G), Overlay(baseColor.B, top.B));

    private static float Overlay(float b, float t) => b < 128f ? 2f * b * t / 255f : 255f - (2f * (255f - b) * (255f - t) / 255f);

    /// <summary>Maps luminance onto a gradient from <paramref name="dark"/> to <paramref name="light"/>.</summary>
    public static Rgb Duotone(Rgb source, Rgb dark, Rgb light)
    {
        var t = source.Luma / 255f;
        t = t * t * (3 - (2 * t)); // smoothstep: a little more contrast than a straight ramp
        return Rgb.Lerp(dark, light, t);
    }

    /// <summary>Darkens and tints toward <paramref name="color"/> outside an ellipse centred at (<paramref name="cx"/>,
    /// <paramref name="cy"/>) (fractions of the size) with radii <paramref name="rx"/>, <paramref name="ry"/>.</summary>
    public static void Vignette(Raster raster, Rgb color, float strength, float cx = 0.5f, float cy = 0.5f, float rx = 0.75f, float ry = 0.75f, float feather = 0.5f)
    {
        var p = raster.Pixels;
        for (var y = 0; y < raster.Height; y++)
        {
            var dy = ((y + 0.5f) / raster.Height - cy) / ry;
            for (var x = 0; x < raster.Width; x++)
            {
                var dx = ((x + 0.5f) / raster.Width - cx) / rx;
                var d = MathF.Sqrt((dx * dx) + (dy * dy));
                if (d <= 1f - feather)
                {
                    continue;
                }

                var t = Math.Clamp((d - (1f - feather)) / feather, 0f, 1f) * strength;
                var i = raster.IndexOf(x, y);
                p[i] = Rgb.ToByte(p[i] + ((color.R - p[i]) * t));
                p[i + 1] = Rgb.ToByte(p[i + 1] + ((color.G - p[i + 1]) * t));
                p[i + 2] = Rgb.ToByte(p[i + 2] + ((color.B - p[i + 2]) * t));
            }
        }
    }

    /// <summary>A separable box blur of the colour channels; three passes approximate a Gaussian.</summary>
    public static void BoxBlur(Raster raster, int radius, int passes = 3)
    {
        if (radius < 1)
        {
            return;
        }

        var temp = new byte[raster.Pixels.Length];
        for (var pass = 0; pass < passes; pass++)
        {
            BlurLines(raster.Pixels, temp, raster.Width, raster.Height, radius, horizontal: true);
            BlurLines(temp, raster.Pixels, raster.Width, raster.Height, radius, horizontal: false);
        }
    }

    // A running sum along rows (or columns), clamping at the edges. Alpha is copied through.
    private static void BlurLines(byte[] source, byte[] target, int width, int height, int radius, bool horizontal)
    {
        var lines = horizontal ? height : width;
        var length = horizontal ? width : height;
        var step = horizontal ? 4 : width * 4;
        var window = (2 * radius) + 1;
        for (var line = 0; line < lines; line++)
        {
            var start = horizontal ? line * width * 4 : line * 4;
            for (var c = 0; c < 3; c++)
            {
                var sum = 0;
                for (var k = -radius; k <= radius; k++)
                {
                    sum += source[start + (Math.Clamp(k, 0, length - 1) * step) + c];
                }

                for (var i = 0; i < length; i++)
                {
                    target[start + (i * step) + c] = (byte)((sum + (window / 2)) / window);
                    var leaving = Math.Clamp(i - radius, 0, length - 1);
                    var entering = Math.Clamp(i + radius + 1, 0, length - 1);
                    sum += source[start + (entering * step) + c] - source[start + (leaving * step) + c];
                }
            }

            for (var i = 0; i < length; i++)
            {
                target[start + (i * step) + 3] = source[start + (i * step) + 3];
            }
        }
    }

    /// <summary>Quantises each channel to <paramref name="levels"/> evenly spaced values.</summary>
    public static void Posterize(Raster raster, int levels)
    {
        levels = Math.Clamp(levels, 2, 256);
        var lut = new byte[256];
        for (var v = 0; v < 256; v++)
        {
            var bucket = (int)(v * levels / 256f);
            lut[v] = Rgb.ToByte(bucket * 255f / (levels - 1));
        }

        Lut(raster, lut, lut, lut);
    }

    /// <summary>The Sobel gradient magnitude of luminance, per pixel (0 at the border).</summary>
    public static float[] EdgeMagnitude(Raster raster)
    {
        int w = raster.Width, h = raster.Height;
        var luma = new float[w * h];
        var p = raster.Pixels;
        for (var i = 0; i < luma.Length; i++)
        {
            luma[i] = new Rgb(p[i * 4], p[(i * 4) + 1], p[(i * 4) + 2]).Luma;
        }

        var edges = new float[w * h];
        for (var y = 1; y < h - 1; y++)
        {
            for (var x = 1; x < w - 1; x++)
            {
                var i = (y * w) + x;
                var gx = luma[i - w + 1] + (2 * luma[i + 1]) + luma[i + w + 1] - luma[i - w - 1] - (2 * luma[i - 1]) - luma[i + w - 1];
                var gy = luma[i + w - 1] + (2 * luma[i + w]) + luma[i + w + 1] - luma[i - w - 1] - (2 * luma[i - w]) - luma[i - w + 1];
                edges[i] = MathF.Sqrt((gx * gx) + (gy * gy));
            }
        }

        return edges;
    }

    /// <summary>Draws <paramref name="color"/> where the edge magnitude passes <paramref name="threshold"/>, fading in
    /// over one more threshold's worth, at most <paramref name="strength"/> opaque.</summary>
    public static void Outline(Raster raster, float[] edges, float threshold, Rgb color, float strength)
    {
        var p = raster.Pixels;
        for (var i = 0; i < edges.Length; i++)
        {
            var e = edges[i];
            if (e <= threshold)
            {
                continue;
            }

            var t = Math.Min(1f, (e - threshold) / threshold) * strength;
            var j = i * 4;
            p[j] = Rgb.ToByte(p[j] + ((color.R - p[j]) * t));
            p[j + 1] = Rgb.ToByte(p[j + 1] + ((color.G - p[j + 1]) * t));
            p[j + 2] = Rgb.ToByte(p[j + 2] + ((color.B - p[j + 2]) * t));
        }
    }

    /// <summary>Chromatic aberration: red sampled from the left, blue from the right, by <paramref name="shift"/> pixels
    /// (and blue also <paramref name="verticalShift"/> rows down).</summary>
    public static void ChannelSplit(Raster raster, int shift, int verticalShift)
    {
        var source = (byte[])raster.Pixels.Clone();
        var p = raster.Pixels;
        int w = raster.Width, h = raster.Height;
        for (var y = 0; y < h; y++)
        {
            var yb = Math.Clamp(y + verticalShift, 0, h - 1);
            for (var x = 0; x < w; x++)
            {
                var i = raster.IndexOf(x, y);
                p[i] = source[raster.IndexOf(Math.Clamp(x - shift, 0, w - 1), y)];
                p[i + 2] = source[raster.IndexOf(Math.Clamp(x + shift, 0, w - 1), yb) + 2];
            }
        }
    }

    /// <summary>Shifts horizontal bands of rows sideways (wrapping), as a broken video signal does.</summary>
    public static void DisplaceSlices(Raster raster, DeterministicRandom random, int count, int minHeight, int maxHeight, int maxShift)
    {
        var p = raster.Pixels;
        var rowBytes = raster.Width * 4;
        var row = new byte[rowBytes];
        for (var s = 0; s < count; s++)
        {
            var top = random.Next(0, raster.Height);
            var height = random.Next(minHeight, maxHeight + 1);
            var shift = random.Next(-maxShift, maxShift + 1);
            var invert = random.NextFloat() < 0.25f;
            if (shift == 0)
            {
                shift = 1;
            }

            var offset = ((shift % raster.Width) + raster.Width) % raster.Width * 4;
            for (var y = top; y < Math.Min(raster.Height, top + height); y++)
            {
                var start = y * rowBytes;
                Array.Copy(p, start, row, 0, rowBytes);
                Array.Copy(row, 0, p, start + offset, rowBytes - offset);
                Array.Copy(row, rowBytes - offset, p, start, offset);
                if (invert)
                {
                    // A band with its red channel inverted: the cyan "colour burst" error of a glitched signal.
                    for (var i = start; i < start + rowBytes; i += 4)
                    {
                        p[i] = (byte)(255 - p[i]);
                    }
                }
            }
        }
    }

    /// <summary>Darkens <paramref name="darkRows"/> rows of every <paramref name="period"/> to <paramref name="factor"/>.</summary>
    public static void Scanlines(Raster raster, int period, int darkRows, float factor)
    {
        var p = raster.Pixels;
        var rowBytes = raster.Width * 4;
        for (var y = 0; y < raster.Height; y++)
        {
            if (y % period >= darkRows)
            {
                continue;
            }

            for (var i = y * rowBytes; i < (y + 1) * rowBytes; i += 4)
            {
                p[i] = Rgb.ToByte(p[i] * factor);
                p[i + 1] = Rgb.ToByte(p[i + 1] * factor);
                p[i + 2] = Rgb.ToByte(p[i + 2] * factor);
            }
        }
    }

    /// <summary>Adds luminance noise of up to ±<paramref name="amount"/>.</summary>
    public static void Grain(Raster raster, DeterministicRandom random, float amount)
    {
        var p = raster.Pixels;
        for (var i = 0; i < p.Length; i += 4)
        {
            var n = random.NextFloat(-amount, amount);
            p[i] = Rgb.ToByte(p[i] + n);
            p[i + 1] = Rgb.ToByte(p[i + 1] + n);
            p[i + 2] = Rgb.ToByte(p[i + 2] + n);
        }
    }

    /// <summary>Blends a colour over a rectangle (clipped to the image), <paramref name="opacity"/> from 0 to 1;
    /// <paramref name="additive"/> adds light instead of covering.</summary>
    public static void FillRect(Raster raster, int left, int top, int width, int height, Rgb color, float opacity, bool additive = false)
    {
        var p = raster.Pixels;
        var x0 = Math.Max(0, left);
        var x1 = Math.Min(raster.Width, left + width);
        var y0 = Math.Max(0, top);
        var y1 = Math.Min(raster.Height, top + height);
        for (var y = y0; y < y1; y++)
        {
            for (var x = x0; x < x1; x++)
            {
                var i = raster.IndexOf(x, y);
                if (additive)
                {
                    p[i] = Rgb.ToByte(p[i] + (color.R * opacity));
                    p[i + 1] = Rgb.ToByte(p[i + 1] + (color.G * opacity));
                    p[i + 2] = Rgb.ToByte(p[i + 2] + (color.B * opacity));
                }
                else
                {
                    p[i] = Rgb.ToByte(p[i] + ((color.R - p[i]) * opacity));
                    p[i + 1] = Rgb.ToByte(p[i + 1] + ((color.G - p[i + 1]) * opacity));
                    p[i + 2] = Rgb.ToByte(p[i + 2] + ((color.B - p[i + 2]) * opacity));
                }
            }
        }
    }
}
