using System.Buffers.Binary;
using System.IO.Hashing;
using Stefna.Sdk;
using Stefna.Sdk.Imaging;
using Stefna.TestUtils;

namespace Stefna.Sdk.Tests;

public class ImageInspectorTests
{
    [Fact]
    public void Reads_format_and_dimensions_of_a_png()
    {
        var info = ImageInspector.Inspect(TestImages.Png(64, 48));
        Assert.Equal(new ImageInfo(ImageFormat.Png, 64, 48), info);
        Assert.Equal("image/png", info.ContentType);
    }

    [Fact]
    public void Refuses_text_posing_as_an_image()
    {
        var ex = Assert.Throws<GenerationValidationException>(() => ImageInspector.Inspect("hello, not an image"u8));
        Assert.Equal("invalid_request.not_an_image", ex.Code);
        Assert.Equal(GenerationErrorCategory.InvalidRequest, ex.Category);
    }

    [Fact]
    public void Refuses_a_truncated_png()
    {
        var ex = Assert.Throws<GenerationValidationException>(() => ImageInspector.Inspect(TestImages.TruncatedPng()));
        Assert.Equal("invalid_request.truncated", ex.Code);
    }

    [Fact]
    public void Refuses_a_corrupt_png_by_its_chunk_checksum()
    {
        var ex = Assert.Throws<GenerationValidationException>(() => ImageInspector.Inspect(TestImages.CorruptPng()));
        Assert.Equal("invalid_request.corrupt", ex.Code);
    }

    [Fact]
    public void Refuses_a_small_file_declaring_huge_dimensions()
    {
        var bomb = TestImages.PngDeclaring(100_000, 100_000);
        Assert.True(bomb.Length < 200);
        var ex = Assert.Throws<GenerationValidationException>(() => ImageInspector.Inspect(bomb, maxPixels: 50_000_000));
        Assert.Equal("invalid_request.too_many_pixels", ex.Code);
        Assert.Contains("100000×100000", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reads_a_minimal_jpeg_frame_header()
    {
        // SOI, APP0 (length 16), SOF0 declaring 300x200, EOI.
        byte[] jpeg =
        [
            0xFF, 0xD8,
            0xFF, 0xE0, 0x00, 0x10, (byte)'J', (byte)'F', (byte)'I', (byte)'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
            0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0xC8, 0x01, 0x2C, 0x03, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1,
            0xFF, 0xD9,
        ];
        Assert.Equal(new ImageInfo(ImageFormat.Jpeg, 300, 200), ImageInspector.Inspect(jpeg));
    }

    [Fact]
    public void Refuses_a_jpeg_without_end_marker()
    {
        byte[] jpeg = [0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0xC8, 0x01, 0x2C];
        Assert.Equal("invalid_request.truncated", Assert.Throws<GenerationValidationException>(() => ImageInspector.Inspect(jpeg)).Code);
    }

    [Fact]
    public void TryInspect_reports_false_for_garbage()
    {
        Assert.False(ImageInspector.TryInspect(new byte[] { 1, 2, 3, 4, 5 }, out var info));
        Assert.Null(info);
        Assert.True(ImageInspector.TryInspect(TestImages.Png(), out info));
        Assert.NotNull(info);
    }

    // Issue 16: headers that understate what a decoder will allocate. Each image is built here, byte by byte.
    private const long Limit = 1_000_000;

    private static byte[] Gif(int screenWidth, int screenHeight, params (int X, int Y, int Width, int Height)[] frames)
    {
        var bytes = new List<byte>();
        bytes.AddRange("GIF89a"u8.ToArray());
        bytes.AddRange([(byte)screenWidth, (byte)(screenWidth >> 8), (byte)screenHeight, (byte)(screenHeight >> 8), 0x80, 0, 0]);
        bytes.AddRange([0, 0, 0, 255, 255, 255]); // global colour table, 2 entries
        bytes.AddRange([0x21, 0xF9, 4, 0, 0, 0, 0, 0]); // graphic control extension
        foreach (var (x, y, w, h) in frames)
        {
            bytes.AddRange([0x2C, (byte)x, (byte)(x >> 8), (byte)y, (byte)(y >> 8), (byte)w, (byte)(w >> 8), (byte)h, (byte)(h >> 8), 0]);
            bytes.AddRange([2, 2, 0x4C, 0x01, 0]); // LZW min code size 2, one sub-block, terminator
        }

        bytes.Add(0x3B);
        return [.. bytes];
    }

    [Fact]
    public void Refuses_a_gif_whose_frame_is_larger_than_its_logical_screen()
    {
        var bomb = Gif(1, 1, (0, 0, 7000, 7000));
        Assert.True(bomb.Length < 100);

        var ex = Assert.Throws<GenerationValidationException>(() => ImageInspector.Inspect(bomb, Limit));

        Assert.Equal("invalid_request.too_many_pixels", ex.Code);
        Assert.Contains("7000×7000", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_a_gif_whose_later_frame_lies_far_outside_its_screen()
    {
        var bomb = Gif(10, 10, (0, 0, 10, 10), (60_000, 60_000, 1, 1));
        Assert.Equal("invalid_request.too_many_pixels", Assert.Throws<GenerationValidationException>(() => ImageInspector.Inspect(bomb, Limit)).Code);
    }

    [Fact]
    public void Accepts_an_animated_gif_whose_frames_fit_its_screen()
    {
        Assert.Equal(new ImageInfo(ImageFormat.Gif, 100, 80), ImageInspector.Inspect(Gif(100, 80, (0, 0, 100, 80), (10, 10, 50, 50)), Limit));
    }

    [Fact]
    public void Refuses_a_gif_cut_inside_a_frame()
    {
        var gif = Gif(10, 10, (0, 0, 10, 10));
        Assert.Equal("invalid_request.truncated", Assert.Throws<GenerationValidationException>(() => ImageInspector.Inspect(gif[..^4], Limit)).Code);
    }

    private static byte[] PngChunk(string type, byte[] body)
    {
        var chunk = new byte[12 + body.Length];
        BinaryPrimitives.WriteUInt32BigEndian(chunk, (uint)body.Length);
        System.Text.Encoding.ASCII.GetBytes(type, chunk.AsSpan(4));
        body.CopyTo(chunk, 8);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + body.Length), Crc32.HashToUInt32(chunk.AsSpan(4, 4 + body.Length)));
        return chunk;
    }

    [Fact]
    public void Refuses_an_apng_whose_frame_control_is_larger_than_its_header()
    {
        var png = TestImages.Png(8, 8);
        var frame = new byte[26];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), 7000);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(8), 7000);
        var headerEnd = 8 + 25; // signature + IHDR chunk
        byte[] apng = [.. png[..headerEnd], .. PngChunk("acTL", [0, 0, 0, 1, 0, 0, 0, 0]), .. PngChunk("fcTL", frame), .. png[headerEnd..]];
        Assert.Equal(new ImageInfo(ImageFormat.Png, 8, 8), ImageInspector.Inspect(png, Limit));

        var ex = Assert.Throws<GenerationValidationException>(() => ImageInspector.Inspect(apng, Limit));

        Assert.Equal("invalid_request.too_many_pixels", ex.Code);
    }

    private static byte[] JpegFrame(int width, int height) =>
        [0xFF, 0xC0, 0x00, 0x0B, 0x08, (byte)(height >> 8), (byte)height, (byte)(width >> 8), (byte)width, 0x01, 1, 0x11, 0];

    private static readonly byte[] JpegScan = [0xFF, 0xDA, 0x00, 0x08, 0x01, 1, 0x00, 0x00, 0x3F, 0x00, 0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56];

    [Fact]
    public void Refuses_a_jpeg_with_a_huge_frame_header_after_its_first_scan()
    {
        byte[] honest = [0xFF, 0xD8, .. JpegFrame(1, 1), .. JpegScan, 0xFF, 0xD9];
        byte[] bomb = [0xFF, 0xD8, .. JpegFrame(1, 1), .. JpegScan, .. JpegFrame(7000, 7000), .. JpegScan, 0xFF, 0xD9];
        Assert.Equal(new ImageInfo(ImageFormat.Jpeg, 1, 1), ImageInspector.Inspect(honest, Limit));

        var ex = Assert.Throws<GenerationValidationException>(() => ImageInspector.Inspect(bomb, Limit));

        Assert.Equal("invalid_request.too_many_pixels", ex.Code);
    }

    private static byte[] Riff(params byte[][] chunks)
    {
        var body = chunks.SelectMany(c => c).ToArray();
        var riff = new byte[12 + body.Length];
        "RIFF"u8.CopyTo(riff);
        BinaryPrimitives.WriteUInt32LittleEndian(riff.AsSpan(4), (uint)(4 + body.Length));
        "WEBP"u8.CopyTo(riff.AsSpan(8));
        body.CopyTo(riff, 12);
        return riff;
    }

    private static byte[] WebPChunk(string type, byte[] body)
    {
        var chunk = new byte[8 + body.Length + (body.Length & 1)];
        System.Text.Encoding.ASCII.GetBytes(type, chunk);
        BinaryPrimitives.WriteUInt32LittleEndian(chunk.AsSpan(4), (uint)body.Length);
        body.CopyTo(chunk, 8);
        return chunk;
    }

    private static byte[] Vp8L(int width, int height)
    {
        var body = new byte[10];
        body[0] = 0x2F;
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(1), (uint)((width - 1) | ((height - 1) << 14)));
        return WebPChunk("VP8L", body);
    }

    private static byte[] Vp8X(int width, int height, byte flags = 0) =>
        WebPChunk("VP8X", [flags, 0, 0, 0, (byte)(width - 1), (byte)((width - 1) >> 8), (byte)((width - 1) >> 16), (byte)(height - 1), (byte)((height - 1) >> 8), (byte)((height - 1) >> 16)]);

    [Fact]
    public void Refuses_a_webp_whose_bitstream_is_larger_than_its_vp8x_canvas()
    {
        Assert.Equal(new ImageInfo(ImageFormat.WebP, 4, 4), ImageInspector.Inspect(Riff(Vp8X(4, 4), Vp8L(4, 4)), Limit));

        var ex = Assert.Throws<GenerationValidationException>(() => ImageInspector.Inspect(Riff(Vp8X(1, 1), Vp8L(7000, 7000)), Limit));

        Assert.Equal("invalid_request.too_many_pixels", ex.Code);
    }

    [Fact]
    public void Refuses_a_webp_whose_bitstream_differs_from_its_canvas()
    {
        var ex = Assert.Throws<GenerationValidationException>(() => ImageInspector.Inspect(Riff(Vp8X(4, 4), Vp8L(600, 600)), Limit));
        Assert.Equal("invalid_request.corrupt", ex.Code);
    }

    [Fact]
    public void Refuses_a_webp_animation_frame_larger_than_its_canvas()
    {
        static byte[] Frame(int width, int height) =>
        [
            0, 0, 0, 0, 0, 0,
            (byte)(width - 1), (byte)((width - 1) >> 8), (byte)((width - 1) >> 16),
            (byte)(height - 1), (byte)((height - 1) >> 8), (byte)((height - 1) >> 16),
            0, 0, 0, 0,
            .. Vp8L(width, height),
        ];
        byte[] animation = WebPChunk("ANIM", [0, 0, 0, 0, 0, 0]);
        Assert.Equal(new ImageInfo(ImageFormat.WebP, 4, 4), ImageInspector.Inspect(Riff(Vp8X(4, 4, 0x02), animation, WebPChunk("ANMF", Frame(4, 4))), Limit));

        var ex = Assert.Throws<GenerationValidationException>(() => ImageInspector.Inspect(Riff(Vp8X(1, 1, 0x02), animation, WebPChunk("ANMF", Frame(7000, 7000))), Limit));

        Assert.Equal("invalid_request.too_many_pixels", ex.Code);
    }
}
