using SkiaSharp;
using static Stefna.Sdk.Providers.Offline.Tests.OfflineTestSupport;

namespace Stefna.Sdk.Providers.Offline.Tests;

/// <summary>The source is turned upright by its EXIF orientation before any effect: phones store portraits sideways
/// and say so in EXIF, so ignoring it gives a sideways result.</summary>
public class ExifOrientationTests
{
    [Fact]
    public async Task A_jpeg_stored_200x100_with_orientation_6_renders_upright_100x200_like_the_upright_picture()
    {
        // Stored 200×100: the left half red, the right half blue. Orientation 6 means "turn 90° clockwise to view",
        // so upright it is 100×200 with the stored left (red) half on top.
        var jpeg = WithExifOrientation(HalvesJpeg(200, 100), orientation: 6);

        var png = await Provider().RenderAsync(Request("acme-pixel-sorter", jpeg));

        var (width, height, _) = Decode(png);
        Assert.Equal((100, 200), (width, height));

        // The same effect on the picture stored upright (red on top) and stored upside down (blue on top).
        var upright = await Provider().RenderAsync(Request("acme-pixel-sorter", HalvesJpeg(100, 200, redFirst: true, vertical: true)));
        var flipped = await Provider().RenderAsync(Request("acme-pixel-sorter", HalvesJpeg(100, 200, redFirst: false, vertical: true)));
        var toUpright = MeanAbsoluteDifference(png, upright);
        var toFlipped = MeanAbsoluteDifference(png, flipped);
        Assert.True(toUpright * 3 < toFlipped, $"difference to the upright rendering {toUpright:0.0}, to the upside-down one {toFlipped:0.0}");
    }

    [Fact]
    public async Task A_jpeg_without_orientation_keeps_its_stored_size()
    {
        var png = await Provider().RenderAsync(Request("acme-pixel-sorter", HalvesJpeg(200, 100)));

        var (width, height, _) = Decode(png);
        Assert.Equal((200, 100), (width, height));
    }

    private static byte[] HalvesJpeg(int width, int height, bool redFirst = true, bool vertical = false)
    {
        using var bitmap = new SKBitmap(width, height);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(redFirst ? new SKColor(40, 40, 230) : new SKColor(230, 40, 40));
            using var first = new SKPaint { Color = redFirst ? new SKColor(230, 40, 40) : new SKColor(40, 40, 230) };
            canvas.DrawRect(0, 0, vertical ? width : width / 2f, vertical ? height / 2f : height, first);
        }

        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 95);
        return data.ToArray();
    }

    /// <summary>Inserts an APP1 EXIF segment holding only the Orientation tag (0x0112) right after the JPEG's SOI marker,
    /// as a camera writes it (big-endian TIFF header, one IFD entry).</summary>
    private static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        byte[] tiff =
        [
            (byte)'M', (byte)'M', 0x00, 0x2A, 0x00, 0x00, 0x00, 0x08, // header, IFD0 at offset 8
            0x00, 0x01, // one entry
            0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, (byte)(orientation >> 8), (byte)orientation, 0x00, 0x00, // Orientation, SHORT, 1
            0x00, 0x00, 0x00, 0x00, // no next IFD
        ];
        byte[] exif = [(byte)'E', (byte)'x', (byte)'i', (byte)'f', 0x00, 0x00, .. tiff];
        var length = exif.Length + 2;
        return [.. jpeg[..2], 0xFF, 0xE1, (byte)(length >> 8), (byte)length, .. exif, .. jpeg[2..]];
    }
}
