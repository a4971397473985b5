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
    /// <summary>Inspects an encoded image: its format, its dimensions and those of every frame it holds, each of which
    /// must stay within <paramref name="maxPixels"/> (a decoder sizes its buffer from the frame, not from the header).</summary>
    /// <param name="data">The bytes.</param>
    /// <param name="maxPixels">The largest width × height accepted, for the image and for each of its frames.</param>
    /// <returns>The image's format and dimensions.</returns>
    /// <exception cref="GenerationValidationException">The bytes are not a well-formed PNG, JPEG, WebP or GIF, or are too large.</exception>
    public static ImageInfo Inspect(ReadOnlySpan<byte> data, long maxPixels = 50_000_000)
    {
        var info = Sniff(data, maxPixels) ?? throw Invalid("not_an_image", "The file is not an image: expected PNG, JPEG, WebP or GIF.");
        if (info.Width <= 0 || info.Height <= 0)
        {
            throw Invalid("bad_dimensions", "The image declares zero width or height.");
        }

        CheckPixels(info.Width, info.Height, maxPixels, "The image declares");
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
            info = Sniff(data, long.MaxValue);
            return info is not null && info.Width > 0 && info.Height > 0;
        }
        catch (GenerationValidationException)
        {
            info = null;
            return false;
        }
    }

    private static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private static ImageInfo? Sniff(ReadOnlySpan<byte> data, long maxPixels)
    {
        if (data.Length >= 8 && data[..8].SequenceEqual(PngSignature))
        {
            return Png(data, maxPixels);
        }

        if (data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        {
            return Jpeg(data, maxPixels);
        }

        if (data.Length >= 12 && data[..4].SequenceEqual("RIFF"u8) && data.Slice(8, 4).SequenceEqual("WEBP"u8))
        {
            return WebP(data, maxPixels);
        }

        if (data.Length >= 10 && (data[..6].SequenceEqual("GIF87a"u8) || data[..6].SequenceEqual("GIF89a"u8)))
        {
            return Gif(data, maxPixels);
        }

        return null;
    }

    // A frame's size, wherever it is declared, must pass the same limit as the header's: decoders allocate by the frame
    // (a GIF with a 1×1 screen and a 7000×7000 frame decodes at 49 Mpx).
    private static void CheckPixels(long width, long height, long maxPixels, string what)
    {
        if (width * height > maxPixels)
        {
            throw Invalid("too_many_pixels", $"{what} {width}×{height} pixels; the limit is {maxPixels:N0} pixels.");
        }
    }

    // Walks every chunk and checks its CRC, so truncation and corruption are caught, then requires IEND. APNG frame
    // controls (fcTL) are checked against the pixel limit, their extent included.
    private static ImageInfo Png(ReadOnlySpan<byte> data, long maxPixels)
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
            else if (type.SequenceEqual("IHDR"u8))
            {
                throw Invalid("corrupt", "The PNG image is corrupt (a second header chunk).");
            }
            else if (type.SequenceEqual("fcTL"u8) && length >= 20)
            {
                // sequence number, width, height, x offset, y offset (APNG).
                long frameWidth = BinaryPrimitives.ReadUInt32BigEndian(body[4..]), frameHeight = BinaryPrimitives.ReadUInt32BigEndian(body[8..]);
                long x = BinaryPrimitives.ReadUInt32BigEndian(body[12..]), y = BinaryPrimitives.ReadUInt32BigEndian(body[16..]);
                CheckPixels(Math.Max(frameWidth + x, width), Math.Max(frameHeight + y, height), maxPixels, "A frame of the PNG image spans");
            }

            if (type.SequenceEqual("IEND"u8))
            {
                return new ImageInfo(ImageFormat.Png, width, height);
            }

            offset += 12 + (int)length;
        }
    }

    // Walks every marker segment up to EOI, skipping entropy-coded data after each scan, so a frame header later in the
    // file (a second SOF, a hierarchical DHP) is checked as well as the first.
    private static ImageInfo Jpeg(ReadOnlySpan<byte> data, long maxPixels)
    {
        if (data.Length < 4 || data[^2] != 0xFF || data[^1] != 0xD9)
        {
            throw Invalid("truncated", "The JPEG image is truncated (no end-of-image marker).");
        }

        ImageInfo? info = null;
        var offset = 2;
        while (offset + 2 <= data.Length)
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

            if (marker == 0xD9)
            {
                break;
            }

            if (marker is >= 0xD0 and <= 0xD7 or 0x01)
            {
                offset += 2;
                continue;
            }

            if (offset + 4 > data.Length)
            {
                break;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(data[(offset + 2)..]);
            if (length < 2 || offset + 2 + length > data.Length)
            {
                throw Invalid("corrupt", "The JPEG image is corrupt (a segment runs past the end).");
            }

            var isStartOfFrame = marker is >= 0xC0 and <= 0xCF && marker is not 0xC4 and not 0xC8 and not 0xCC;
            if (isStartOfFrame || marker == 0xDE)
            {
                if (length < 7)
                {
                    throw Invalid("corrupt", "The JPEG image is corrupt (a short frame header).");
                }

                int height = BinaryPrimitives.ReadUInt16BigEndian(data[(offset + 5)..]), width = BinaryPrimitives.ReadUInt16BigEndian(data[(offset + 7)..]);
                CheckPixels(width, height, maxPixels, info is null ? "The image declares" : "A later frame of the JPEG image declares");
                info ??= new ImageInfo(ImageFormat.Jpeg, width, height);
            }

            offset += 2 + length;
            if (marker == 0xDA)
            {
                // Entropy-coded data runs to the next marker that is not a stuffed 0xFF00 or a restart marker.
                while (offset + 1 < data.Length && !(data[offset] == 0xFF && data[offset + 1] is not 0x00 and not (>= 0xD0 and <= 0xD7)))
                {
                    offset++;
                }
            }
        }

        return info ?? throw Invalid("corrupt", "The JPEG image is corrupt (no frame header).");
    }

    // Walks every chunk: the canvas (VP8X) and every bitstream (VP8, VP8L, also inside animation frames ANMF) must pass
    // the pixel limit, and a still image's bitstream must match its canvas (libwebp refuses otherwise).
    private static ImageInfo WebP(ReadOnlySpan<byte> data, long maxPixels)
    {
        var riffSize = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
        if (riffSize + 8L > data.Length || data.Length < 30)
        {
            throw Invalid("truncated", "The WebP image is truncated.");
        }

        var end = (int)Math.Min(riffSize + 8L, data.Length);
        ImageInfo? canvas = null;
        ImageInfo? bitstream = null;
        var offset = 12;
        while (offset + 8 <= end)
        {
            var chunk = data.Slice(offset, 4);
            var size = BinaryPrimitives.ReadUInt32LittleEndian(data[(offset + 4)..]);
            if (offset + 8L + size > end)
            {
                throw Invalid("truncated", "The WebP image is truncated.");
            }

            var body = data.Slice(offset + 8, (int)size);
            if (chunk.SequenceEqual("VP8X"u8))
            {
                if (offset != 12 || size < 10)
                {
                    throw Invalid("corrupt", "The WebP image is corrupt (a misplaced or short VP8X chunk).");
                }

                canvas = new ImageInfo(ImageFormat.WebP, 1 + ReadUInt24(body[4..]), 1 + ReadUInt24(body[7..]));
                CheckPixels(canvas.Width, canvas.Height, maxPixels, "The image declares");
            }
            else if (chunk.SequenceEqual("ANMF"u8))
            {
                if (size < 16)
                {
                    throw Invalid("corrupt", "The WebP image is corrupt (a short animation frame).");
                }

                long x = 2L * ReadUInt24(body), y = 2L * ReadUInt24(body[3..]);
                long width = 1 + ReadUInt24(body[6..]), height = 1 + ReadUInt24(body[9..]);
                CheckPixels(Math.Max(x + width, canvas?.Width ?? 0), Math.Max(y + height, canvas?.Height ?? 0), maxPixels, "A frame of the WebP image spans");
                var frame = WebPFrameBitstream(body[16..], maxPixels);
                if (frame is not null && (frame.Width > width || frame.Height > height))
                {
                    throw Invalid("corrupt", "The WebP image is corrupt (a frame's bitstream is larger than the frame).");
                }
            }
            else if (WebPBitstream(chunk, body, maxPixels) is { } found)
            {
                bitstream ??= found;
            }

            offset += 8 + (int)size + (int)(size & 1);
        }

        if (canvas is null)
        {
            return bitstream ?? throw Invalid("corrupt", "The WebP image is corrupt (no image data).");
        }

        if (bitstream is not null && (bitstream.Width != canvas.Width || bitstream.Height != canvas.Height))
        {
            throw Invalid("corrupt", $"The WebP image is corrupt (its bitstream is {bitstream.Width}×{bitstream.Height}, its canvas {canvas.Width}×{canvas.Height}).");
        }

        return canvas;
    }

    private static ImageInfo? WebPFrameBitstream(ReadOnlySpan<byte> chunks, long maxPixels)
    {
        ImageInfo? found = null;
        var offset = 0;
        while (offset + 8 <= chunks.Length)
        {
            var size = BinaryPrimitives.ReadUInt32LittleEndian(chunks[(offset + 4)..]);
            if (offset + 8L + size > chunks.Length)
            {
                throw Invalid("truncated", "The WebP image is truncated.");
            }

            found ??= WebPBitstream(chunks.Slice(offset, 4), chunks.Slice(offset + 8, (int)size), maxPixels);
            offset += 8 + (int)size + (int)(size & 1);
        }

        return found;
    }

    private static ImageInfo? WebPBitstream(ReadOnlySpan<byte> chunk, ReadOnlySpan<byte> body, long maxPixels)
    {
        ImageInfo info;
        if (chunk.SequenceEqual("VP8 "u8))
        {
            // Frame tag (3 bytes), start code 9D 01 2A, then 14-bit width and height (2 bits of scale each).
            if (body.Length < 10 || body[3] != 0x9D || body[4] != 0x01 || body[5] != 0x2A)
            {
                throw Invalid("corrupt", "The WebP image is corrupt (a bad VP8 frame header).");
            }

            info = new ImageInfo(ImageFormat.WebP, BinaryPrimitives.ReadUInt16LittleEndian(body[6..]) & 0x3FFF, BinaryPrimitives.ReadUInt16LittleEndian(body[8..]) & 0x3FFF);
        }
        else if (chunk.SequenceEqual("VP8L"u8))
        {
            if (body.Length < 5 || body[0] != 0x2F)
            {
                throw Invalid("corrupt", "The WebP image is corrupt (a bad VP8L header).");
            }

            var bits = BinaryPrimitives.ReadUInt32LittleEndian(body[1..]);
            info = new ImageInfo(ImageFormat.WebP, (int)(bits & 0x3FFF) + 1, (int)((bits >> 14) & 0x3FFF) + 1);
        }
        else
        {
            return null;
        }

        CheckPixels(info.Width, info.Height, maxPixels, "The image's bitstream declares");
        return info;
    }

    private static int ReadUInt24(ReadOnlySpan<byte> data) => data[0] | (data[1] << 8) | (data[2] << 16);

    // Walks the block structure of the GIF89a specification: every image descriptor's frame, with
    // its offset, must pass the pixel limit, and the file must end with the trailer after the last block.
    private static ImageInfo Gif(ReadOnlySpan<byte> data, long maxPixels)
    {
        var info = new ImageInfo(ImageFormat.Gif, BinaryPrimitives.ReadUInt16LittleEndian(data[6..]), BinaryPrimitives.ReadUInt16LittleEndian(data[8..]));
        if (data.Length < 13 || data[^1] != 0x3B)
        {
            throw Invalid("truncated", "The GIF image is truncated (no trailer).");
        }

        var offset = 13 + ColorTableSize(data[10]);
        while (true)
        {
            if (offset >= data.Length)
            {
                throw Invalid("truncated", "The GIF image is truncated (no trailer).");
            }

            switch (data[offset])
            {
                case 0x3B:
                    return info;
                case 0x21:
                    offset = SkipSubBlocks(data, offset + 2);
                    break;
                case 0x2C:
                    if (offset + 10 > data.Length)
                    {
                        throw Invalid("truncated", "The GIF image is truncated (no trailer).");
                    }

                    long x = BinaryPrimitives.ReadUInt16LittleEndian(data[(offset + 1)..]), y = BinaryPrimitives.ReadUInt16LittleEndian(data[(offset + 3)..]);
                    long width = BinaryPrimitives.ReadUInt16LittleEndian(data[(offset + 5)..]), height = BinaryPrimitives.ReadUInt16LittleEndian(data[(offset + 7)..]);
                    CheckPixels(Math.Max(x + width, info.Width), Math.Max(y + height, info.Height), maxPixels, "A frame of the GIF image spans");

                    // Local colour table, then the LZW minimum code size, then the data sub-blocks.
                    offset = SkipSubBlocks(data, offset + 10 + ColorTableSize(data[offset + 9]) + 1);
                    break;
                default:
                    throw Invalid("corrupt", "The GIF image is corrupt (an unknown block).");
            }
        }
    }

    private static int ColorTableSize(byte packed) => (packed & 0x80) == 0 ? 0 : 3 << ((packed & 0x07) + 1);

    private static int SkipSubBlocks(ReadOnlySpan<byte> data, int offset)
    {
        while (true)
        {
            if (offset >= data.Length)
            {
                throw Invalid("truncated", "The GIF image is truncated (no trailer).");
            }

            var size = data[offset];
            offset += 1 + size;
            if (size == 0)
            {
                return offset;
            }
        }
    }

    private static GenerationValidationException Invalid(string code, string message) => new("image", message, code);
}
