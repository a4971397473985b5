using System.Buffers.Binary;
using System.IO.Hashing;

namespace Stefna.Sdk.Imaging;

/// <summary>Image formats the SDK accepts.</summary>
public enum ImageFormat
{
    /// <summary>PNG.</summary>
    Png,

    /// <summary>JPEG.</summary>
    Jpeg,

    /// <summary>WebP.</summary>
    WebP,

    /// <summary>GIF.</summary>
    Gif,
}

/// <summary>What an image's header says.</summary>
/// <param name="Format">The encoded format.</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
public sealed record ImageInfo(ImageFormat Format, int Width, int Height)
{
    /// <summary>The MIME type of the format.</summary>
    public string ContentType => Format switch
    {
        ImageFormat.Png => "image/png",
        ImageFormat.Jpeg => "image/jpeg",
        ImageFormat.WebP => "image/webp",
        _ => "image/gif",
    };

    /// <summary>The usual file extension, without a dot.</summary>
    public string Extension => Format switch
    {
        ImageFormat.Png => "png",
        ImageFormat.Jpeg => "jpg",
        ImageFormat.WebP => "webp",
        _ => "gif",
    };
}

/// <summary>
/// Reads an image's format and dimensions from its bytes and checks its structure without decoding pixels, so a
/// hostile upload (a tiny file declaring huge dimensions, a truncated or corrupted file, text posing as an image)
/// is refused before anything is stored. Written by hand because the core must not carry a native imaging library;
/// decoding happens in providers.
/// </summary>
public static class ImageInspector
{
    /// <summary>Inspects an encoded image.</summary>
    /// <param name="data">The bytes.</param>
    /// <param name="maxPixels">The largest width × height accepted.</param>
    /// <returns>The image's format and dimensions.</returns>
    /// <exception cref="GenerationValidationException">The bytes are not a well-formed PNG, JPEG, WebP or GIF, or are too large.</exception>
    public static ImageInfo Inspect(ReadOnlySpan<byte> data, long maxPixels = 50_000_000)
    {
        var info = Sniff(data) ?? throw Invalid("not_an_image", "The file is not an image: expected PNG, JPEG, WebP or GIF.");
        if (info.Width <= 0 || info.Height <= 0)
        {
            throw Invalid("bad_dimensions", "The image declares zero width or height.");
        }

        if ((long)info.Width * info.Height > maxPixels)
        {
            throw Invalid("too_many_pixels", $"The image declares {info.Width}×{info.Height} pixels; the limit is {maxPixels:N0} pixels.");
        }

        return info;
    }

    /// <summary>Tries to inspect an encoded image.</summary>
    /// <param name="data">The bytes.</param>
    /// <param name="info">The format and dimensions, when the bytes are a well-formed image.</param>
    /// <returns><see langword="true"/> when the bytes are a well-formed image of an accepted format.</returns>
    public static bool TryInspect(ReadOnlySpan<byte> data, out ImageInfo? info)
    {
        try
        {
            info = Sniff(data);
            return info is not null && info.Width > 0 && info.Height > 0;
        }
        catch (GenerationValidationException)
        {
            info = null;
            return false;
        }
    }

    private static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private static ImageInfo? Sniff(ReadOnlySpan<byte> data)
    {
        if (data.Length >= 8 && data[..8].SequenceEqual(PngSignature))
        {
            return Png(data);
        }

        if (data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        {
            return Jpeg(data);
        }

        if (data.Length >= 12 && data[..4].SequenceEqual("RIFF"u8) && data.Slice(8, 4).SequenceEqual("WEBP"u8))
        {
            return WebP(data);
        }

        if (data.Length >= 10 && (data[..6].SequenceEqual("GIF87a"u8) || data[..6].SequenceEqual("GIF89a"u8)))
        {
            if (data[^1] != 0x3B)
            {
                throw Invalid("truncated", "The GIF image is truncated (no trailer).");
            }

            return new ImageInfo(ImageFormat.Gif, BinaryPrimitives.ReadUInt16LittleEndian(data[6..]), BinaryPrimitives.ReadUInt16LittleEndian(data[8..]));
        }

        return null;
    }

    // Walks every chunk and checks its CRC, so truncation and corruption are caught, then requires IEND.
    private static ImageInfo Png(ReadOnlySpan<byte> data)
    {
        var offset = 8;
        int width = 0, height = 0;
        var first = true;
        while (true)
        {
            if (offset + 12 > data.Length)
            {
                throw Invalid("truncated", "The PNG image is truncated.");
            }

            var length = BinaryPrimitives.ReadUInt32BigEndian(data[offset..]);
            if (length > int.MaxValue || offset + 12 + (long)length > data.Length)
            {
                throw Invalid("truncated", "The PNG image is truncated.");
            }

            var type = data.Slice(offset + 4, 4);
            var body = data.Slice(offset + 8, (int)length);
            var crc = BinaryPrimitives.ReadUInt32BigEndian(data[(offset + 8 + (int)length)..]);
            if (Crc32.HashToUInt32(data.Slice(offset + 4, 4 + (int)length)) != crc)
            {
                throw Invalid("corrupt", "The PNG image is corrupt (a chunk checksum does not match).");
            }

            if (first)
            {
                if (!type.SequenceEqual("IHDR"u8) || length < 8)
                {
                    throw Invalid("corrupt", "The PNG image is corrupt (no header chunk).");
                }

                width = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(body), int.MaxValue);
                height = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(body[4..]), int.MaxValue);
                first = false;
            }

            if (type.SequenceEqual("IEND"u8))
            {
                return new ImageInfo(ImageFormat.Png, width, height);
            }

            offset += 12 + (int)length;
        }
    }

    private static ImageInfo Jpeg(ReadOnlySpan<byte> data)
    {
        if (data.Length < 4 || data[^2] != 0xFF || data[^1] != 0xD9)
        {
            throw Invalid("truncated", "The JPEG image is truncated (no end-of-image marker).");
        }

        var offset = 2;
        while (offset + 4 <= data.Length)
        {
            if (data[offset] != 0xFF)
            {
                throw Invalid("corrupt", "The JPEG image is corrupt (bad marker).");
            }

            var marker = data[offset + 1];
            if (marker == 0xFF)
            {
                offset++;
                continue;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(data[(offset + 2)..]);
            var isStartOfFrame = marker is >= 0xC0 and <= 0xCF && marker is not 0xC4 and not 0xC8 and not 0xCC;
            if (isStartOfFrame)
            {
                if (offset + 9 > data.Length)
                {
                    break;
                }

                return new ImageInfo(ImageFormat.Jpeg, BinaryPrimitives.ReadUInt16BigEndian(data[(offset + 7)..]), BinaryPrimitives.ReadUInt16BigEndian(data[(offset + 5)..]));
            }

            if (length < 2)
            {
                break;
            }

            offset += 2 + length;
        }

        throw Invalid("corrupt", "The JPEG image is corrupt (no frame header).");
    }

    private static ImageInfo WebP(ReadOnlySpan<byte> data)
    {
        var riffSize = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
        if (riffSize + 8L > data.Length || data.Length < 30)
        {
            throw Invalid("truncated", "The WebP image is truncated.");
        }

        var chunk = data.Slice(12, 4);
        if (chunk.SequenceEqual("VP8 "u8))
        {
            return new ImageInfo(ImageFormat.WebP, BinaryPrimitives.ReadUInt16LittleEndian(data[26..]) & 0x3FFF, BinaryPrimitives.ReadUInt16LittleEndian(data[28..]) & 0x3FFF);
        }

        if (chunk.SequenceEqual("VP8L"u8))
        {
            var bits = BinaryPrimitives.ReadUInt32LittleEndian(data[21..]);
            return new ImageInfo(ImageFormat.WebP, (int)(bits & 0x3FFF) + 1, (int)((bits >> 14) & 0x3FFF) + 1);
        }

        if (chunk.SequenceEqual("VP8X"u8))
        {
            var w = 1 + (data[24] | (data[25] << 8) | (data[26] << 16));
            var h = 1 + (data[27] | (data[28] << 8) | (data[29] << 16));
            return new ImageInfo(ImageFormat.WebP, w, h);
        }

        throw Invalid("corrupt", "The WebP image is corrupt (unknown chunk).");
    }

    private static GenerationValidationException Invalid(string code, string message) => new("image", message, code);
}
