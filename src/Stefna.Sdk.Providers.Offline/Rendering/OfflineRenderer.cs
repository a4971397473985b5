namespace Stefna.Sdk.Providers.Offline.Rendering;

/// <summary>What one render produced.</summary>
internal sealed record RenderResult(byte[] Png, int Width, int Height, string Effect, ulong Seed, bool FromSource);

/// <summary>Turns a provider request into PNG bytes: decode (or draw) → effect → encode. Pure and thread-safe.</summary>
internal static class OfflineRenderer
{
    /// <summary>The size of text-to-image canvases.</summary>
    public const int CanvasSize = 512;

    public static RenderResult Render(ProviderRequest request, OfflineProviderOptions options, CancellationToken cancellationToken)
    {
        var seed = SeedOf(request);
        var source = request.SourceImage;
        var raster = source is not null
            ? SkiaImaging.Decode(source.Bytes.Span, options.MaxDimension, options.MaxSourcePixels)
            : SkiaImaging.RenderCanvas(request.Prompt, seed, Math.Min(CanvasSize, options.MaxDimension));
        cancellationToken.ThrowIfCancellationRequested();
        var effect = Effects.Apply(raster, request, seed);
        cancellationToken.ThrowIfCancellationRequested();
        var png = SkiaImaging.EncodePng(raster);
        return new RenderResult(png, raster.Width, raster.Height, effect, seed, source is not null);
    }

    // The request's seed, or one derived from its content (never from the job id), so equal requests look equal.
    internal static ulong SeedOf(ProviderRequest request) =>
        request.Seed is { } seed ? unchecked((ulong)seed) : StableHash.Combine(StableHash.Of(StableHash.Normalize(request.Type)), StableHash.Of(request.Prompt));
}
