namespace Stefna.Sdk.Providers.Offline.Rendering;

/// <summary>An image as unpremultiplied RGBA bytes, row by row with no padding: the form every effect works on, in
/// managed code, so results do not depend on GPU or SIMD paths of the native library.</summary>
internal sealed class Raster
{
    public Raster(int width, int height)
        : this(width, height, new byte[checked(width * height * 4)])
    {
    }

    public Raster(int width, int height, byte[] pixels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if (pixels.Length != width * height * 4)
        {
            throw new ArgumentException("The pixel buffer does not match the size.", nameof(pixels));
        }

        Width = width;
        Height = height;
        Pixels = pixels;
    }

    public int Width { get; }

    public int Height { get; }

    public byte[] Pixels { get; }

    /// <summary>The longer side.</summary>
    public int LongSide => Math.Max(Width, Height);

    public int IndexOf(int x, int y) => ((y * Width) + x) * 4;

    public Raster Clone() => new(Width, Height, (byte[])Pixels.Clone());

    /// <summary><see langword="true"/> when every pixel is fully opaque.</summary>
    public bool IsOpaque()
    {
        var p = Pixels;
        for (var i = 3; i < p.Length; i += 4)
        {
            if (p[i] != 255)
            {
                return false;
            }
        }

        return true;
    }
}
