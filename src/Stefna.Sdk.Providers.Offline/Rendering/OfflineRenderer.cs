using Stefna.Sdk.Imaging;

namespace Stefna.Sdk.Providers.Offline.Rendering;

/// <summary>What one render produced.</summary>
internal sealed record RenderResult(byte[] Png, int Width, int Height, string Effect, ulong Seed, bool FromSource);

/// <summary>Turns a provider request into PNG bytes: decode (or draw) → effect → encode. Pure and thread-safe.</summary>
internal static class OfflineRenderer
{
    /// <summary>The size of text-to-image canvases.</summary>
    public const int CanvasSize = 512;

    public static async ValueTask<RenderResult> RenderAsync(ProviderRequest request, OfflineProviderOptions options, IImageMemoryBudget budget, CancellationToken cancellationToken)
    {
        var seed = SeedOf(request);
        var source = request.SourceImage;

        // Reserve the memory the whole render holds before any pixel is allocated: the size comes from the header.
        var (width, height, reoriented) = source is not null
            ? SkiaImaging.ReadSize(source.Bytes.Span, options.MaxSourcePixels)
            : (Math.Min(CanvasSize, options.MaxDimension), Math.Min(CanvasSize, options.MaxDimension), false);
        using var reservation = await budget.ReserveAsync(MemoryCost(width, height, reoriented, source?.Bytes.Length ?? 0, options.MaxDimension), cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        var raster = source is not null
            ? SkiaImaging.Decode(source.Bytes.Span, options.MaxDimension, options.MaxSourcePixels)
            : SkiaImaging.RenderCanvas(request.Prompt, seed, width);
        cancellationToken.ThrowIfCancellationRequested();
        var effect = Effects.Apply(raster, request, seed);
        cancellationToken.ThrowIfCancellationRequested();
        var png = SkiaImaging.EncodePng(raster);
        return new RenderResult(png, raster.Width, raster.Height, effect, seed, source is not null);
    }

    /// <summary>The most bytes one render holds at once, estimated from the source's size before decoding: a native
    /// copy of the encoded bytes; the decoded bitmap (4 bytes a pixel) and, when its EXIF origin turns it, an upright
    /// copy; and at the working size (longest side at most <paramref name="maxDimension"/>) the downscaled bitmap, the
    /// managed raster, an effect's scratch copy and the encoded PNG (at most about the raw size). A source that needs no
    /// downscaling is its own working size.</summary>
    internal static long MemoryCost(int width, int height, bool reoriented, int encodedBytes, int maxDimension)
    {
        var scale = Math.Min(1.0, (double)maxDimension / Math.Max(width, height));
        var working = (long)Math.Ceiling(width * scale) * (long)Math.Ceiling(height * scale) * 4;
        var full = (long)width * height * 4 * (reoriented ? 2 : 1);
        return encodedBytes + full + (Math.Max(width, height) <= maxDimension ? 3 : 4) * working;
    }

    // The request's seed, or one derived from its content (never from the job id), so equal requests look equal.
    internal static ulong SeedOf(ProviderRequest request) =>
        request.Seed is { } seed ? unchecked((ulong)seed) : StableHash.Combine(StableHash.Of(StableHash.Normalize(request.Type)), StableHash.Of(request.Prompt));
}
