using Stefna.Sdk.Testing;

namespace Stefna.TestUtils;

/// <summary>Images for tests: the conformance kit's <see cref="SampleImages"/> plus broken ones.</summary>
public static class TestImages
{
    /// <summary>An RGB PNG with a deterministic colourful pattern (differs per seed).</summary>
    public static byte[] Png(int width = 64, int height = 48, int seed = 1) => SampleImages.Png(width, height, seed);

    /// <summary>A tiny, well-formed PNG whose header declares the given (possibly huge) dimensions.</summary>
    public static byte[] PngDeclaring(int width, int height) => SampleImages.PngDeclaring(width, height);

    /// <summary>The first <paramref name="keep"/> bytes of a valid PNG: a truncated image.</summary>
    public static byte[] TruncatedPng(int keep = 60) => Png()[..keep];

    /// <summary>A valid PNG with one byte flipped inside its pixel data: a corrupt image.</summary>
    public static byte[] CorruptPng()
    {
        var png = Png();
        png[png.Length / 2] ^= 0x5A;
        return png;
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
