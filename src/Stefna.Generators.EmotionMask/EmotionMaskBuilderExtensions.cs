using Stefna.Generators.EmotionMask;
using Stefna.Sdk.Configuration;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Emotion Mask generation type.</summary>
public static class EmotionMaskBuilderExtensions
{
    /// <summary>Adds Emotion Mask (<c>emotion-mask</c>, table <c>emotion_mask_media</c>). Safe to call more than once.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="configure">Configures the type's concurrency, timeouts and resilience.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder AddEmotionMask(this IStefnaBuilder builder, Action<GenerationTypeOptions>? configure = null) =>
        builder.AddGenerator<EmotionMaskGenerator>(configure);
}
