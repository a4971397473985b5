using System.Buffers.Binary;
using Microsoft.Extensions.DependencyInjection;
using SkiaSharp;
using Stefna.Sdk.Assets;
using Stefna.Sdk.Imaging;
using Stefna.TestUtils;

namespace Stefna.Sdk.Tests;

/// <summary>Source photos are stored without what they say about their owner (EXIF GPS, serials, XMP, IPTC, comments);
/// orientation and colour profiles stay, the compressed image data is untouched.</summary>
public sealed class SourceImageMetadataTests
{
    [Fact]
    public async Task A_submitted_jpeg_with_exif_gps_is_stored_without_it()
    {
        var photo = MetadataImages.JpegWithMetadata(orientation: 6);
        Assert.True(MetadataImages.HasPrivateMetadata(photo)); // the fixture carries it

        using var dir = new TempDirectory();
        var services = new ServiceCollection();
        services.AddStefna().AddGenerator<PromptOnlyTestGenerator>(PromptOnlyTestGenerator.TypeName).UseSqlite(dir.File("stefna.db")).UseLocalFileStorage(dir.File("images")).UseOfflineProvider();
        await using var provider = services.BuildServiceProvider();
        var pipeline = provider.GetRequiredService<IGenerationPipeline>();

        var ticket = await pipeline.SubmitAsync(new GenerationRequest { Type = PromptOnlyTestGenerator.TypeName, UserId = "u", Prompt = "p", Image = ImageInput.FromBytes(photo) });

        var job = (await pipeline.GetStatusAsync(ticket.Type, ticket.Id, "u"))!;
        var stored = await File.ReadAllBytesAsync(provider.GetRequiredService<LocalFileAssetStorage>().GetPath(job.SourceImageUrl!));
        Assert.False(MetadataImages.HasPrivateMetadata(stored));
        Assert.Equal(6, Orientation(stored)); // still shown upright
        using (var codec = SKCodec.Create(new SKMemoryStream(stored)))
        {
            Assert.Equal(SKEncodedOrigin.RightTop, codec.EncodedOrigin); // and a decoder reads it (the offline provider honours it)
        }
        Assert.True(stored.AsSpan().IndexOf("ICC_PROFILE\0"u8) >= 0); // colour kept
        using var decoded = SKBitmap.Decode(stored);
        Assert.Equal((64, 48), (decoded.Width, decoded.Height));
        Assert.True(stored.AsSpan().EndsWith(photo.AsSpan(photo.AsSpan().IndexOf([(byte)0xFF, (byte)0xDA])))); // the scan untouched
    }

    [Fact]
    public void Jpeg_stripping_keeps_the_scan_byte_for_byte_and_drops_every_private_segment()
    {
        var photo = MetadataImages.JpegWithMetadata(orientation: 1);
        var stripped = ImageMetadataStripper.Strip(photo, ImageFormat.Jpeg).ToArray();

        Assert.False(MetadataImages.HasPrivateMetadata(stripped));
        Assert.Equal(-1, stripped.AsSpan().IndexOf("Exif\0\0"u8)); // orientation 1 (upright) needs no EXIF at all
        Assert.Equal(-1, stripped.AsSpan().IndexOf([(byte)0xFF, (byte)0xFE])); // no comment
        var scan = photo.AsSpan(photo.AsSpan().IndexOf([(byte)0xFF, (byte)0xDA]));
        Assert.True(stripped.AsSpan().EndsWith(scan));
        Assert.Equal(new ImageInfo(ImageFormat.Jpeg, 64, 48), ImageInspector.Inspect(stripped));
    }

    [Fact]
    public void Png_text_and_exif_chunks_are_dropped_and_the_rest_kept_whole()
    {
        var png = TestImages.Png();
        byte[] withMetadata = [.. png.AsSpan(0, 33), .. Chunk("tEXt", "Comment\0" + MetadataImages.XmpMarker), .. Chunk("eXIf", "MM\0*" + MetadataImages.Serial), .. Chunk("iTXt", "XML:com.adobe.xmp\0\0\0\0\0http://ns.adobe.com/xap/1.0/"), .. png.AsSpan(33)];
        Assert.True(MetadataImages.HasPrivateMetadata(withMetadata));

        var stripped = ImageMetadataStripper.Strip(withMetadata, ImageFormat.Png).ToArray();

        Assert.False(MetadataImages.HasPrivateMetadata(stripped));
        Assert.Equal(png, stripped);
    }

    [Fact]
    public void Webp_exif_and_xmp_chunks_are_dropped_and_their_flags_cleared()
    {
        using var bitmap = new SKBitmap(32, 16);
        bitmap.Erase(new SKColor(10, 200, 90));
        var simple = bitmap.Encode(SKEncodedImageFormat.Webp, 80).ToArray(); // RIFF, WEBP, one VP8 / VP8L chunk
        var image = simple.AsSpan(12);
        byte[] vp8x = [.. "VP8X"u8, 10, 0, 0, 0, 0x0C, 0, 0, 0, 31, 0, 0, 15, 0, 0]; // EXIF + XMP flags, canvas 32×16
        byte[] body = [.. "WEBP"u8, .. vp8x, .. image, .. Chunk4("EXIF", "MM\0*" + MetadataImages.Serial), .. Chunk4("XMP ", "http://ns.adobe.com/xap/1.0/ " + MetadataImages.XmpMarker)];
        byte[] extended = [.. "RIFF"u8, .. BitConverter.GetBytes((uint)body.Length), .. body];
        Assert.True(MetadataImages.HasPrivateMetadata(extended));
        Assert.Equal(new ImageInfo(ImageFormat.WebP, 32, 16), ImageInspector.Inspect(extended));

        var stripped = ImageMetadataStripper.Strip(extended, ImageFormat.WebP).ToArray();

        Assert.False(MetadataImages.HasPrivateMetadata(stripped));
        Assert.Equal(0, stripped[20] & 0x0C);
        Assert.Equal((uint)(stripped.Length - 8), BinaryPrimitives.ReadUInt32LittleEndian(stripped.AsSpan(4)));
        Assert.Equal(new ImageInfo(ImageFormat.WebP, 32, 16), ImageInspector.Inspect(stripped));
        using var decoded = SKBitmap.Decode(stripped);
        Assert.Equal((32, 16), (decoded.Width, decoded.Height));
    }

    private static byte[] Chunk(string type, string text)
    {
        var data = System.Text.Encoding.ASCII.GetBytes(text);
        var chunk = new byte[12 + data.Length];
        BinaryPrimitives.WriteUInt32BigEndian(chunk, (uint)data.Length);
        System.Text.Encoding.ASCII.GetBytes(type).CopyTo(chunk, 4);
        data.CopyTo(chunk, 8);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), System.IO.Hashing.Crc32.HashToUInt32(chunk.AsSpan(4, 4 + data.Length)));
        return chunk;
    }

    private static byte[] Chunk4(string fourCc, string text)
    {
        var data = System.Text.Encoding.ASCII.GetBytes(text);
        var chunk = new byte[8 + data.Length + (data.Length & 1)];
        System.Text.Encoding.ASCII.GetBytes(fourCc).CopyTo(chunk, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(chunk.AsSpan(4), (uint)data.Length);
        data.CopyTo(chunk, 8);
        return chunk;
    }

    /// <summary>The orientation in the image's EXIF block (big- or little-endian IFD0), 0 when there is none.</summary>
    private static int Orientation(byte[] jpeg)
    {
        var at = jpeg.AsSpan().IndexOf("Exif\0\0"u8);
        if (at < 0)
        {
            return 0;
        }

        var tiff = jpeg[(at + 6)..];
        var little = tiff[0] == (byte)'I';
        int U16(int o) => little ? BinaryPrimitives.ReadUInt16LittleEndian(tiff.AsSpan(o)) : BinaryPrimitives.ReadUInt16BigEndian(tiff.AsSpan(o));
        var ifd = little ? (int)BinaryPrimitives.ReadUInt32LittleEndian(tiff.AsSpan(4)) : (int)BinaryPrimitives.ReadUInt32BigEndian(tiff.AsSpan(4));
        for (var e = 0; e < U16(ifd); e++)
        {
            if (U16(ifd + 2 + (e * 12)) == 0x0112)
            {
                return U16(ifd + 2 + (e * 12) + 8);
            }
        }

        return 0;
    }
}
