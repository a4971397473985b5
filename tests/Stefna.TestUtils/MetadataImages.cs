using System.Buffers.Binary;
using System.Text;
using SkiaSharp;

namespace Stefna.TestUtils;

/// <summary>Photos as phones and editors write them: a real JPEG carrying EXIF (with a GPS position, a camera serial
/// number and an orientation), XMP, IPTC and a comment, to prove they are stripped before a photo is stored.</summary>
public static class MetadataImages
{
    /// <summary>The GPS latitude written (degrees, minutes, seconds as rationals): 64° 8' 47".</summary>
    public static readonly (uint Degrees, uint Minutes, uint Seconds) Latitude = (64, 8, 47);

    /// <summary>A camera serial number written in the EXIF block: text that must not survive.</summary>
    public const string Serial = "SERIAL-4711-PRIVATE";

    /// <summary>A value written in the XMP block and the comment.</summary>
    public const string XmpMarker = "xmp-private-location-Reykjavik";

    /// <summary>A JPEG of <paramref name="width"/>×<paramref name="height"/> with EXIF (orientation, GPS IFD, serial),
    /// XMP (APP1), an ICC profile stand-in (APP2 ICC_PROFILE), IPTC (APP13) and a comment (COM).</summary>
    public static byte[] JpegWithMetadata(int width = 64, int height = 48, ushort orientation = 6)
    {
        using var bitmap = new SKBitmap(width, height);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(new SKColor(30, 120, 200));
            using var paint = new SKPaint { Color = new SKColor(240, 200, 40) };
            canvas.DrawRect(4, 4, width / 2f, height / 2f, paint);
        }

        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        var jpeg = data.ToArray();
        var segments = new List<byte[]>
        {
            Segment(0xE1, [.. "Exif\0\0"u8, .. Exif(orientation)]),
            Segment(0xE1, [.. "http://ns.adobe.com/xap/1.0/\0"u8, .. Encoding.ASCII.GetBytes($"<x:xmpmeta><rdf:Description photoshop:City=\"{XmpMarker}\"/></x:xmpmeta>")]),
            Segment(0xE2, [.. "ICC_PROFILE\0"u8, 1, 1, .. "icc-profile-bytes"u8]),
            Segment(0xED, [.. "Photoshop 3.0\0"u8, .. "8BIM\x04\x04iptc-private"u8]),
            Segment(0xFE, Encoding.ASCII.GetBytes("comment " + XmpMarker)),
        };

        // After SOI and the encoder's APP0 (JFIF), where cameras put them.
        var insertAt = 2;
        if (jpeg[2] == 0xFF && jpeg[3] == 0xE0)
        {
            insertAt = 4 + BinaryPrimitives.ReadUInt16BigEndian(jpeg.AsSpan(4, 2));
        }

        return [.. jpeg.AsSpan(0, insertAt), .. segments.SelectMany(s => s), .. jpeg.AsSpan(insertAt)];
    }

    /// <summary>Whether the bytes hold a GPS IFD pointer (tag 0x8825) in an EXIF block, or any of the private values.</summary>
    public static bool HasPrivateMetadata(ReadOnlySpan<byte> image) =>
        (image.IndexOf("Exif\0\0II"u8) >= 0 && image.IndexOf((ReadOnlySpan<byte>)[0x25, 0x88, 0x04, 0x00]) >= 0)
        || image.IndexOf(Encoding.ASCII.GetBytes(Serial)) >= 0
        || image.IndexOf(Encoding.ASCII.GetBytes(XmpMarker)) >= 0
        || image.IndexOf("iptc-private"u8) >= 0
        || image.IndexOf("http://ns.adobe.com/xap/1.0/"u8) >= 0;

    private static byte[] Segment(byte marker, byte[] payload)
    {
        var segment = new byte[4 + payload.Length];
        segment[0] = 0xFF;
        segment[1] = marker;
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), (ushort)(payload.Length + 2));
        payload.CopyTo(segment, 4);
        return segment;
    }

    // Little-endian TIFF: IFD0 (Orientation, BodySerialNumber-like Make text, GPS IFD pointer), then the GPS IFD
    // (GPSLatitudeRef 'N', GPSLatitude three rationals).
    private static byte[] Exif(ushort orientation)
    {
        var serial = Encoding.ASCII.GetBytes(Serial + "\0");
        const int ifd0 = 8;
        const int ifd0Size = 2 + (3 * 12) + 4;
        var serialAt = ifd0 + ifd0Size;
        var gpsAt = serialAt + serial.Length + (serial.Length & 1);
        const int gpsSize = 2 + (2 * 12) + 4;
        var rationalsAt = gpsAt + gpsSize;
        var tiff = new byte[rationalsAt + 24];
        var s = tiff.AsSpan();
        "II"u8.CopyTo(s);
        BinaryPrimitives.WriteUInt16LittleEndian(s[2..], 42);
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], ifd0);

        BinaryPrimitives.WriteUInt16LittleEndian(s[ifd0..], 3);
        Entry(s, ifd0 + 2, 0x010F, 2, (uint)serial.Length, (uint)serialAt); // Make (ASCII) holding the serial text
        Entry(s, ifd0 + 14, 0x0112, 3, 1, orientation); // Orientation (SHORT, in the value field)
        Entry(s, ifd0 + 26, 0x8825, 4, 1, (uint)gpsAt); // GPS IFD pointer
        serial.CopyTo(s[serialAt..]);

        BinaryPrimitives.WriteUInt16LittleEndian(s[gpsAt..], 2);
        Entry(s, gpsAt + 2, 0x0001, 2, 2, 'N'); // GPSLatitudeRef "N\0" inline
        Entry(s, gpsAt + 14, 0x0002, 5, 3, (uint)rationalsAt); // GPSLatitude, 3 RATIONAL
        uint[] rationals = [Latitude.Degrees, 1, Latitude.Minutes, 1, Latitude.Seconds, 1];
        for (var r = 0; r < rationals.Length; r++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(s[(rationalsAt + (r * 4))..], rationals[r]);
        }

        return tiff;
    }

    private static void Entry(Span<byte> s, int at, ushort tag, ushort type, uint count, uint value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(s[at..], tag);
        BinaryPrimitives.WriteUInt16LittleEndian(s[(at + 2)..], type);
        BinaryPrimitives.WriteUInt32LittleEndian(s[(at + 4)..], count);
        BinaryPrimitives.WriteUInt32LittleEndian(s[(at + 8)..], value);
    }
}
