using Stefna.Generators.EmotionMask;
using Stefna.Sdk.Configuration;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Emotion Mask generation type.</summary>
public static class EmotionMaskBuilderExtensions
{
    /// <summary>Adds Emotion Mask (<c>emotion-mask</c>, table <c>emotion_mask_media</c>). Safe to call more than once.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder AddEmotionMask(this IStefnaBuilder builder) => builder.AddEmotionMask(configure: null);

    /// <summary>Adds Emotion Mask and configures its concurrency, timeouts and resilience.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="configure">Configures the type's options.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder AddEmotionMask(this IStefnaBuilder builder, Action<GenerationTypeOptions>? configure) =>
        builder.AddGenerator<EmotionMaskGenerator>(EmotionMaskGenerator.TypeName, configure);
}
