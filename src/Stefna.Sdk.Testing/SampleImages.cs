using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace Stefna.Sdk.Testing;

/// <summary>Valid images made in memory, so conformance tests need no fixture files and no imaging library.</summary>
public static class SampleImages
{
    /// <summary>An 8-bit RGB PNG with a deterministic, colourful gradient pattern; different seeds give different pixels.</summary>
    /// <param name="width">The width in pixels (1 to 4096).</param>
    /// <param name="height">The height in pixels (1 to 4096).</param>
    /// <param name="seed">Shifts the pattern's colours.</param>
    /// <returns>The encoded PNG.</returns>
    public static byte[] Png(int width = 64, int height = 48, int seed = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(width, 4096);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(height, 4096);
        var raw = new byte[height * (1 + (width * 3))];
        var i = 0;
        for (var y = 0; y < height; y++)
        {
            raw[i++] = 0; // filter: none
            for (var x = 0; x < width; x++)
            {
                raw[i++] = (byte)(((x * 255 / Math.Max(1, width - 1)) + (seed * 37)) & 0xFF);
                raw[i++] = (byte)(((y * 255 / Math.Max(1, height - 1)) + (seed * 71)) & 0xFF);
                raw[i++] = (byte)((((x ^ y) * 4) + (seed * 13)) & 0xFF);
            }
        }

        using var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionLevel.Fastest, leaveOpen: true))
        {
            z.Write(raw);
        }

        return Assemble(width, height, idat.ToArray());
    }

    /// <summary>A tiny, well-formed PNG whose header declares the given dimensions, however large, over a few bytes of
    /// pixel data: what a host's decoded-size guard must refuse before decoding (a decompression bomb's shape), or an impossible
    /// size such as 0×10.</summary>
    /// <param name="width">The declared width: any value, 0 and negative ones included, to test a guard.</param>
    /// <param name="height">The declared height: any value, 0 and negative ones included.</param>
    /// <returns>The encoded PNG.</returns>
    public static byte[] PngDeclaring(int width, int height)
    {
        using var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionLevel.Fastest, leaveOpen: true))
        {
            z.Write(new byte[16]);
        }

        return Assemble(width, height, idat.ToArray());
    }

    private static byte[] Assemble(int width, int height, byte[] idat)
    {
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = 2; // colour type: RGB
        using var png = new MemoryStream();
        png.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        Chunk(png, "IHDR"u8, header);
        Chunk(png, "IDAT"u8, idat);
        Chunk(png, "IEND"u8, []);
        return png.ToArray();
    }

    private static void Chunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        output.Write(length);
        var typed = new byte[4 + data.Length];
        type.CopyTo(typed);
        data.CopyTo(typed.AsSpan(4));
        output.Write(typed);
        Span<byte> crc = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32.HashToUInt32(typed));
        output.Write(crc);
    }
}
