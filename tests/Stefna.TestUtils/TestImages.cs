using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace Stefna.TestUtils;

/// <summary>Valid images made in memory, so tests need no fixture files or imaging library.</summary>
public static class TestImages
{
    /// <summary>An RGB PNG with a deterministic colourful pattern (differs per seed).</summary>
    public static byte[] Png(int width = 64, int height = 48, int seed = 1)
    {
        var raw = new byte[height * (1 + width * 3)];
        var i = 0;
        for (var y = 0; y < height; y++)
        {
            raw[i++] = 0; // filter: none
            for (var x = 0; x < width; x++)
            {
                raw[i++] = (byte)((x * 255 / Math.Max(1, width - 1) + seed * 37) & 0xFF);
                raw[i++] = (byte)((y * 255 / Math.Max(1, height - 1) + seed * 71) & 0xFF);
                raw[i++] = (byte)(((x ^ y) * 4 + seed * 13) & 0xFF);
            }
        }

        using var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionLevel.Fastest, leaveOpen: true))
        {
            z.Write(raw);
        }

        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;  // bit depth
        header[9] = 2;  // colour type: RGB
        return Assemble(header, idat.ToArray());
    }

    /// <summary>A tiny, well-formed PNG whose header declares the given (possibly huge) dimensions.</summary>
    public static byte[] PngDeclaring(int width, int height)
    {
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;
        header[9] = 2;
        using var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionLevel.Fastest, leaveOpen: true))
        {
            z.Write(new byte[16]);
        }

        return Assemble(header, idat.ToArray());
    }

    /// <summary>The first <paramref name="keep"/> bytes of a valid PNG: a truncated image.</summary>
    public static byte[] TruncatedPng(int keep = 60) => Png()[..keep];

    /// <summary>A valid PNG with one byte flipped inside its pixel data: a corrupt image.</summary>
    public static byte[] CorruptPng()
    {
        var png = Png();
        png[png.Length / 2] ^= 0x5A;
        return png;
    }

    private static byte[] Assemble(byte[] header, byte[] idat)
    {
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

/// <summary>A folder under the system temp folder, deleted on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    /// <summary>Creates the folder.</summary>
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "stefna-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    /// <summary>The folder.</summary>
    public string Path { get; }

    /// <summary>A path inside the folder.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Every file under the folder, relative paths.</summary>
    public IReadOnlyList<string> AllFiles() =>
        Directory.Exists(Path) ? [.. Directory.GetFiles(Path, "*", SearchOption.AllDirectories).Select(f => System.IO.Path.GetRelativePath(Path, f))] : [];

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
