namespace Stefna.Sdk.Providers.Offline.Rendering;

/// <summary>A colour with float channels on the 0–255 scale.</summary>
internal readonly record struct Rgb(float R, float G, float B)
{
    public static Rgb White { get; } = new(255, 255, 255);

    public static Rgb Black { get; } = new(0, 0, 0);

    public float Luma => (0.2126f * R) + (0.7152f * G) + (0.0722f * B);

    public static Rgb Lerp(Rgb a, Rgb b, float t) => new(a.R + ((b.R - a.R) * t), a.G + ((b.G - a.G) * t), a.B + ((b.B - a.B) * t));

    public Rgb Scale(float factor) => new(R * factor, G * factor, B * factor);

    /// <summary>A colour from hue (degrees), saturation and value (0–1).</summary>
    public static Rgb FromHsv(float hue, float saturation, float value)
    {
        hue = ((hue % 360f) + 360f) % 360f;
        var c = value * saturation;
        var x = c * (1 - MathF.Abs(((hue / 60f) % 2) - 1));
        var m = value - c;
        var (r, g, b) = (int)(hue / 60f) switch
        {
            0 => (c, x, 0f),
            1 => (x, c, 0f),
            2 => (0f, c, x),
            3 => (0f, x, c),
            4 => (x, 0f, c),
            _ => (c, 0f, x),
        };
        return new Rgb((r + m) * 255f, (g + m) * 255f, (b + m) * 255f);
    }

    public static byte ToByte(float value) => value <= 0f ? (byte)0 : value >= 255f ? (byte)255 : (byte)(value + 0.5f);
}
