using System.Buffers.Binary;

namespace Stefna.Sdk.Imaging;

/// <summary>
/// Removes the metadata a photo carries about its owner (EXIF with GPS position, camera serial and times, XMP, IPTC,
/// comments, text chunks) from an encoded image without decoding it: the pixels and the compressed data stay byte for
/// byte. What a viewer needs to show the image as taken stays: the JPEG's JFIF, Adobe and ICC segments, the PNG's
/// colour chunks (iCCP, gAMA, …), and the EXIF orientation, rewritten as a minimal EXIF block holding that one tag.
/// GIF is left as it is (it has no EXIF).
/// </summary>
internal static class ImageMetadataStripper
{
    private const ushort OrientationTag = 0x0112;

    /// <summary>The image without its metadata, or the same bytes when it had none to remove.</summary>
    /// <param name="data">An image <see cref="ImageInspector"/> accepted.</param>
    /// <param name="format">Its format.</param>
    /// <returns>The stripped image.</returns>
    /// <exception cref="GenerationValidationException">The image's structure is broken where metadata would be.</exception>
    public static ReadOnlyMemory<byte> Strip(ReadOnlyMemory<byte> data, ImageFormat format) => format switch
    {
        ImageFormat.Jpeg => Jpeg(data.Span),
        ImageFormat.Png => Png(data.Span),
        ImageFormat.WebP => WebP(data.Span),
        _ => data,
    };

    private static GenerationValidationException Broken(string what) =>
        new("image", $"The image's {what} structure is broken.", "corrupt");

    // JPEG: SOI, then marker segments up to the first SOS, whose scan and everything after it is copied unchanged.
    private static byte[] Jpeg(ReadOnlySpan<byte> data)
    {
        using var output = new MemoryStream(data.Length);
        output.Write(data[..2]); // SOI
        var orientation = 0;
        var exifAt = -1;
        var i = 2;
        while (true)
        {
            while (i < data.Length && data[i] == 0xFF && i + 1 < data.Length && data[i + 1] == 0xFF)
            {
                i++; // fill bytes
            }

            if (i + 4 > data.Length || data[i] != 0xFF)
            {
                throw Broken("JPEG");
            }

            var marker = data[i + 1];
            if (marker is 0xD8 or 0x01 or (>= 0xD0 and <= 0xD7))
            {
                output.Write(data.Slice(i, 2)); // stand-alone markers carry no length
                i += 2;
                continue;
            }

            if (marker == 0xD9)
            {
                output.Write(data[i..]);
                break;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(data.Slice(i + 2, 2));
            if (length < 2 || i + 2 + length > data.Length)
            {
                throw Broken("JPEG");
            }

            var segment = data.Slice(i, 2 + length);
            var payload = segment[4..];
            if (marker == 0xDA)
            {
                output.Write(data[i..]); // start of scan: the compressed data and whatever follows, unchanged
                break;
            }

            if (marker == 0xE1 && payload.StartsWith("Exif\0\0"u8))
            {
                orientation = orientation == 0 ? ExifOrientation(payload[6..]) : orientation;
                exifAt = exifAt < 0 ? (int)output.Length : exifAt;
            }
            else if (Keep(marker, payload))
            {
                output.Write(segment);
            }

            i += 2 + length;
        }

        var stripped = output.ToArray();
        if (orientation is < 2 or > 8)
        {
            return stripped;
        }

        // The orientation only, where the EXIF segment was (after JFIF, as viewers expect it).
        var exif = MinimalExif((ushort)orientation);
        return [.. stripped.AsSpan(0, exifAt), .. exif, .. stripped.AsSpan(exifAt)];
    }

    // Kept: JFIF/JFXX (APP0), ICC profiles (APP2 "ICC_PROFILE"), Adobe colour transform (APP14) and every
    // non-APP, non-comment segment (tables, frame headers). Dropped: other APPn (EXIF, XMP, MPF previews, IPTC,
    // Photoshop, Ducky, …) and COM.
    private static bool Keep(byte marker, ReadOnlySpan<byte> payload) => marker switch
    {
        0xE0 => true,
        0xE2 => payload.StartsWith("ICC_PROFILE\0"u8),
        0xEE => payload.StartsWith("Adobe"u8),
        >= 0xE1 and <= 0xEF => false,
        0xFE => false,
        _ => true,
    };

    /// <summary>The orientation tag of IFD0 in a TIFF structure (EXIF payload after <c>Exif\0\0</c>); 0 when absent.</summary>
    private static int ExifOrientation(ReadOnlySpan<byte> tiff)
    {
        if (tiff.Length < 8)
        {
            return 0;
        }

        var little = tiff[0] == (byte)'I' && tiff[1] == (byte)'I';
        if (!little && !(tiff[0] == (byte)'M' && tiff[1] == (byte)'M'))
        {
            return 0;
        }

        var ifd = U32(tiff, 4, little);
        if (ifd > (uint)(tiff.Length - 2))
        {
            return 0;
        }

        var count = U16(tiff, (int)ifd, little);
        for (var e = 0; e < count; e++)
        {
            var at = (int)ifd + 2 + (e * 12);
            if (at + 12 > tiff.Length)
            {
                return 0;
            }

            if (U16(tiff, at, little) == OrientationTag && U16(tiff, at + 2, little) == 3 /* SHORT */)
            {
                return U16(tiff, at + 8, little);
            }
        }

        return 0;
    }

    private static ushort U16(ReadOnlySpan<byte> tiff, int at, bool little) =>
        little ? BinaryPrimitives.ReadUInt16LittleEndian(tiff.Slice(at, 2)) : BinaryPrimitives.ReadUInt16BigEndian(tiff.Slice(at, 2));

    private static uint U32(ReadOnlySpan<byte> tiff, int at, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(tiff.Slice(at, 4)) : BinaryPrimitives.ReadUInt32BigEndian(tiff.Slice(at, 4));

    /// <summary>An APP1 EXIF segment holding IFD0 with the orientation tag only (big-endian TIFF).</summary>
    private static byte[] MinimalExif(ushort orientation)
    {
        byte[] segment =
        [
            0xFF, 0xE1, 0x00, 0x22, // APP1, length 34
            (byte)'E', (byte)'x', (byte)'i', (byte)'f', 0, 0,
            (byte)'M', (byte)'M', 0x00, 0x2A, 0x00, 0x00, 0x00, 0x08, // TIFF header, IFD0 at 8
            0x00, 0x01, // one entry
            0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, (byte)(orientation >> 8), (byte)orientation, 0x00, 0x00, // Orientation, SHORT, 1
            0x00, 0x00, 0x00, 0x00, // no next IFD
        ];
        return segment;
    }

    // PNG: signature, then chunks (length, type, data, CRC) copied whole, so their CRCs stay valid.
    private static byte[] Png(ReadOnlySpan<byte> data)
    {
        using var output = new MemoryStream(data.Length);
        output.Write(data[..8]);
        var i = 8;
        while (i < data.Length)
        {
            if (i + 12 > data.Length)
            {
                throw Broken("PNG");
            }

            var length = BinaryPrimitives.ReadUInt32BigEndian(data.Slice(i, 4));
            if (length > (uint)(data.Length - i - 12))
            {
                throw Broken("PNG");
            }

            var type = data.Slice(i + 4, 4);
            var chunk = data.Slice(i, 12 + (int)length);
            if (!(type.SequenceEqual("eXIf"u8) || type.SequenceEqual("tEXt"u8) || type.SequenceEqual("zTXt"u8)
                || type.SequenceEqual("iTXt"u8) || type.SequenceEqual("tIME"u8)))
            {
                output.Write(chunk);
            }

            i += chunk.Length;
            if (type.SequenceEqual("IEND"u8))
            {
                break;
            }
        }

        return output.ToArray();
    }

    // WebP: RIFF chunks (FourCC, size, data, pad to even); EXIF and XMP dropped and their VP8X flags cleared.
    private static ReadOnlyMemory<byte> WebP(ReadOnlySpan<byte> data)
    {
        using var output = new MemoryStream(data.Length);
        output.Write(data[..12]);
        var i = 12;
        var vp8x = -1;
        while (i + 8 <= data.Length)
        {
            var size = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(i + 4, 4));
            var padded = (long)size + (size & 1);
            if (padded > data.Length - i - 8)
            {
                throw Broken("WebP");
            }

            var fourCc = data.Slice(i, 4);
            var chunk = data.Slice(i, 8 + (int)padded);
            if (fourCc.SequenceEqual("VP8X"u8))
            {
                vp8x = (int)output.Length;
            }

            if (!(fourCc.SequenceEqual("EXIF"u8) || fourCc.SequenceEqual("XMP "u8)))
            {
                output.Write(chunk);
            }

            i += chunk.Length;
        }

        var stripped = output.ToArray();
        if (vp8x >= 0 && vp8x + 8 < stripped.Length)
        {
            stripped[vp8x + 8] &= unchecked((byte)~0x0C); // the EXIF (0x08) and XMP (0x04) flags
        }

        BinaryPrimitives.WriteUInt32LittleEndian(stripped.AsSpan(4, 4), (uint)(stripped.Length - 8));
        return stripped;
    }
}
