namespace Stefna.Sdk.Providers.AimlApi;

/// <summary>The AIML API's request body shapes: one per model family, as its docs describe them.</summary>
internal enum AimlModelFamily
{
    /// <summary>flux, Stable Diffusion and the like: <c>image_size</c>, <c>num_images</c>, <c>seed</c>.</summary>
    TextToImage,

    /// <summary><c>…/image-to-image</c>: <c>image_url</c> (a URL), <c>strength</c>; no <c>image_size</c>.</summary>
    ImageToImage,

    /// <summary><c>dall-e-*</c>, <c>gpt-image-*</c>: OpenAI's <c>n</c>, <c>size</c>.</summary>
    OpenAI,
}

internal static class AimlModelFamilies
{
    public static AimlModelFamily Of(string model) =>
        model.StartsWith("dall-e", StringComparison.OrdinalIgnoreCase) || model.StartsWith("gpt-image", StringComparison.OrdinalIgnoreCase) || model.StartsWith("openai/", StringComparison.OrdinalIgnoreCase)
            ? AimlModelFamily.OpenAI
            : model.Contains("image-to-image", StringComparison.OrdinalIgnoreCase)
                ? AimlModelFamily.ImageToImage
                : AimlModelFamily.TextToImage;

    /// <summary>A seed within the documented range (integer ≥ 1): a seed below 1 maps to a positive one, stably.</summary>
    public static long DocumentedSeed(long seed) => seed >= 1 ? seed : Math.Max(1, seed & long.MaxValue);

    public static bool IsPixelSize(string size)
    {
        var parts = size.Split('x');
        return parts.Length == 2 && parts.All(p => p.Length is > 0 and < 6 && p.All(char.IsAsciiDigit));
    }
}
