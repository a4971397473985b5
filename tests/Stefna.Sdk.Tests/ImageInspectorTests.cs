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
}
