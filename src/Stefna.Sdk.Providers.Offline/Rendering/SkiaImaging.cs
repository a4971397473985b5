using System.Runtime.InteropServices;
using SkiaSharp;

namespace Stefna.Sdk.Providers.Offline.Rendering;

/// <summary>The parts done by SkiaSharp: decoding, downscaling, drawing the text-to-image canvas, PNG encoding.
/// Every native object lives in a <c>using</c> scope of one call, so nothing native is shared between threads.</summary>
internal static class SkiaImaging
{
    /// <summary>Decodes an encoded image to sRGB RGBA, downscaled so its longest side is at most <paramref name="maxDimension"/>.</summary>
    /// <exception cref="GenerationException">The bytes are not an image SkiaSharp can decode, or it is too large.</exception>
    public static Raster Decode(ReadOnlySpan<byte> encoded, int maxDimension, long maxPixels)
    {
        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data)
            ?? throw Invalid("not_an_image", "The source image could not be decoded: it is not a PNG, JPEG, WebP, GIF or other format the offline provider reads.");
        var size = codec.Info.Size;
        if (size.Width <= 0 || size.Height <= 0)
        {
            throw Invalid("bad_dimensions", "The source image declares zero width or height.");
        }

        if ((long)size.Width * size.Height > maxPixels)
        {
            throw Invalid("too_many_pixels", $"The source image is {size.Width}×{size.Height} pixels; the offline provider decodes at most {maxPixels:N0} pixels.");
        }

        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul, SKColorSpace.CreateSrgb());
        using var decoded = new SKBitmap(info);
        var result = codec.GetPixels(info, decoded.GetPixels());
        if (result != SKCodecResult.Success)
        {
            // Incomplete or corrupt data decodes partly at best; a half-grey picture is no useful source.
            throw Invalid("corrupt", $"The source image could not be decoded ({Describe(result)}). Upload the original file again.");
        }

        // The picture as the camera meant it (EXIF orientation), before any effect sees it.
        using var upright = Orient(decoded, codec.EncodedOrigin);
        size = new SKSizeI(upright.Width, upright.Height);
        if (Math.Max(size.Width, size.Height) <= maxDimension)
        {
            return ToRaster(upright);
        }

        var scale = (double)maxDimension / Math.Max(size.Width, size.Height);
        var width = Math.Clamp((int)Math.Round(size.Width * scale), 1, maxDimension);
        var height = Math.Clamp((int)Math.Round(size.Height * scale), 1, maxDimension);
        // Mipmapped sampling averages the pixels a big reduction drops, so the result does not alias.
        using var resized = upright.Resize(upright.Info.WithSize(width, height), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear))
            ?? throw new GenerationException(GenerationErrorCategory.Internal, "The offline provider could not downscale the source image.");
        return ToRaster(resized);
    }

    /// <summary>A copy of <paramref name="bitmap"/> turned upright for its EXIF origin (the eight TIFF orientations:
    /// mirrors, quarter turns and their combinations). SkiaSharp reads the origin but leaves applying it to the caller.</summary>
    private static SKBitmap Orient(SKBitmap bitmap, SKEncodedOrigin origin)
    {
        var (w, h) = (bitmap.Width, bitmap.Height);
        var swap = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        var result = new SKBitmap(bitmap.Info.WithSize(swap ? h : w, swap ? w : h));
        using var canvas = new SKCanvas(result);
        switch (origin)
        {
            case SKEncodedOrigin.TopRight: canvas.Translate(w, 0); canvas.Scale(-1, 1); break;
            case SKEncodedOrigin.BottomRight: canvas.Translate(w, h); canvas.RotateDegrees(180); break;
            case SKEncodedOrigin.BottomLeft: canvas.Translate(0, h); canvas.Scale(1, -1); break;
            case SKEncodedOrigin.LeftTop: canvas.RotateDegrees(90); canvas.Scale(1, -1); break;
            case SKEncodedOrigin.RightTop: canvas.Translate(h, 0); canvas.RotateDegrees(90); break;
            case SKEncodedOrigin.RightBottom: canvas.Translate(h, w); canvas.RotateDegrees(90); canvas.Scale(-1, 1); break;
            case SKEncodedOrigin.LeftBottom: canvas.Translate(0, w); canvas.RotateDegrees(270); break;
            default: break;
        }

        using var paint = new SKPaint { BlendMode = SKBlendMode.Src };
        canvas.DrawBitmap(bitmap, 0, 0, paint);
        return result;
    }

    /// <summary>Draws a deterministic abstract picture for a prompt: a gradient sky, soft suns and bands, in colours
    /// taken from the hash of the prompt and seed.</summary>
    public static Raster RenderCanvas(string prompt, ulong seed, int size)
    {
        var random = new DeterministicRandom(StableHash.Combine(seed, StableHash.Of(StableHash.Normalize(prompt))));
        var info = new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var surface = SKSurface.Create(info)
            ?? throw new GenerationException(GenerationErrorCategory.Internal, "The offline provider could not create a drawing surface.");
        var canvas = surface.Canvas;
        var baseHue = random.NextFloat(0, 360);

        using (var sky = SKShader.CreateLinearGradient(
            new SKPoint(0, 0),
            new SKPoint(size * random.NextFloat(0.2f, 0.8f), size),
            [ToColor(Rgb.FromHsv(baseHue, 0.7f, 0.35f)), ToColor(Rgb.FromHsv(baseHue + 40, 0.55f, 0.75f)), ToColor(Rgb.FromHsv(baseHue + 80, 0.35f, 0.98f))],
            SKShaderTileMode.Clamp))
        using (var paint = new SKPaint { Shader = sky })
        {
            canvas.DrawRect(0, 0, size, size, paint);
        }

        var circles = random.Next(3, 7);
        for (var i = 0; i < circles; i++)
        {
            var center = new SKPoint(random.NextFloat(0, size), random.NextFloat(0, size));
            var radius = random.NextFloat(size * 0.08f, size * 0.3f);
            var color = Rgb.FromHsv(baseHue + random.NextFloat(120, 240), random.NextFloat(0.4f, 0.9f), random.NextFloat(0.7f, 1f));
            using var glow = SKShader.CreateRadialGradient(center, radius, [ToColor(color), ToColor(color).WithAlpha(0)], SKShaderTileMode.Clamp);
            using var paint = new SKPaint { Shader = glow, IsAntialias = true };
            canvas.DrawCircle(center, radius, paint);
        }

        var bands = random.Next(2, 5);
        for (var i = 0; i < bands; i++)
        {
            var top = random.NextFloat(size * 0.5f, size);
            var color = ToColor(Rgb.FromHsv(baseHue + 180 + random.NextFloat(-30, 30), 0.6f, random.NextFloat(0.15f, 0.5f))).WithAlpha((byte)random.Next(120, 220));
            using var paint = new SKPaint { Color = color, IsAntialias = true };
            using var path = new SKPath();
            path.MoveTo(0, top);
            path.CubicTo(size * 0.3f, top - random.NextFloat(0, size * 0.2f), size * 0.7f, top + random.NextFloat(0, size * 0.2f), size, top - random.NextFloat(-size * 0.1f, size * 0.1f));
            path.LineTo(size, size);
            path.LineTo(0, size);
            path.Close();
            canvas.DrawPath(path, paint);
        }

        canvas.Flush();
        var raster = new Raster(size, size);
        var readInfo = new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var handle = GCHandle.Alloc(raster.Pixels, GCHandleType.Pinned);
        try
        {
            if (!surface.ReadPixels(readInfo, handle.AddrOfPinnedObject(), readInfo.RowBytes, 0, 0))
            {
                throw new GenerationException(GenerationErrorCategory.Internal, "The offline provider could not read back its canvas.");
            }
        }
        finally
        {
            handle.Free();
        }

        return raster;
    }

    /// <summary>Encodes as PNG; fully opaque images are written without an alpha channel.</summary>
    public static byte[] EncodePng(Raster raster)
    {
        var alpha = raster.IsOpaque() ? SKAlphaType.Opaque : SKAlphaType.Unpremul;
        var info = new SKImageInfo(raster.Width, raster.Height, SKColorType.Rgba8888, alpha, SKColorSpace.CreateSrgb());
        using var bitmap = new SKBitmap();
        var handle = GCHandle.Alloc(raster.Pixels, GCHandleType.Pinned);
        try
        {
            if (!bitmap.InstallPixels(info, handle.AddrOfPinnedObject(), info.RowBytes))
            {
                throw new GenerationException(GenerationErrorCategory.Internal, "The offline provider could not prepare its result for encoding.");
            }

            using var pixmap = bitmap.PeekPixels();
            // zlib level 3: several times faster than the default 6 for about a sixth more bytes.
            using var encoded = pixmap.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.AllFilters, zLibLevel: 3))
                ?? throw new GenerationException(GenerationErrorCategory.Internal, "The offline provider could not encode its result as PNG.");
            return encoded.ToArray();
        }
        finally
        {
            handle.Free();
        }
    }

    private static Raster ToRaster(SKBitmap bitmap)
    {
        var raster = new Raster(bitmap.Width, bitmap.Height);
        var rowBytes = bitmap.Width * 4;
        var source = bitmap.GetPixelSpan();
        for (var y = 0; y < bitmap.Height; y++)
        {
            source.Slice(y * bitmap.RowBytes, rowBytes).CopyTo(raster.Pixels.AsSpan(y * rowBytes, rowBytes));
        }

        return raster;
    }

    private static SKColor ToColor(Rgb color) => new(Rgb.ToByte(color.R), Rgb.ToByte(color.G), Rgb.ToByte(color.B));

    private static string Describe(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput => "the file is truncated",
        SKCodecResult.ErrorInInput => "the file is corrupt",
        SKCodecResult.InvalidInput => "the file is invalid",
        SKCodecResult.Unimplemented => "the file uses a feature that is not supported",
        _ => "decoder result " + result,
    };

    private static GenerationException Invalid(string code, string message) =>
        new(GenerationErrorCategory.InvalidRequest, message, "invalid_request." + code);
}
