using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenAI;
using OpenAI.Images;
using Stefna.Sdk.Extensions.AI;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Chooses OpenAI's image models as the image provider, configured like the other provider packages.</summary>
public static class OpenAIBuilderExtensions
{
    /// <summary>The key of the default provider's options under the Stefna configuration section: <c>OpenAI</c>; a
    /// per-type provider's are at <c>Types:&lt;type&gt;:OpenAI</c>.</summary>
    public const string ConfigurationKey = "OpenAI";

    /// <summary>The named-options name (and service key) of the default OpenAI provider: <c>openai</c>.</summary>
    public const string DefaultName = "openai";

    /// <summary>Uses OpenAI's image models (through Microsoft.Extensions.AI.OpenAI's <see cref="IImageGenerator"/>) for
    /// every type that has no provider of its own: text-to-image to <c>/images/generations</c>, a source image to
    /// <c>/images/edits</c>. The key comes from <see cref="OpenAIImageProviderOptions.ApiKey"/> or the
    /// <c>OPENAI_API_KEY</c> environment variable; options bind from <c>Stefna:OpenAI</c> when the host binds
    /// configuration, <paramref name="configure"/> after them, and are validated at start-up.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="configure">Configures the provider.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseOpenAI(this IStefnaBuilder builder, Action<OpenAIImageProviderOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        Register(builder.Services, DefaultName, ConfigurationKey, configure);
        return builder.UseProvider(sp => sp.GetRequiredKeyedService<ImageGeneratorProvider>(DefaultName));
    }

    /// <summary>Uses OpenAI for one type only, with options of its own (named options <c>openai:&lt;type&gt;</c>,
    /// bound from <c>Stefna:Types:&lt;type&gt;:OpenAI</c> when the host binds configuration).</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="type">The generation type's name.</param>
    /// <param name="configure">Configures the provider.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseOpenAI(this IStefnaBuilder builder, string type, Action<OpenAIImageProviderOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(type);
        var name = DefaultName + ":" + type;
        Register(builder.Services, name, ConfigurationPath.Combine("Types", type, ConfigurationKey), configure);
        return builder.UseProvider(type, sp => sp.GetRequiredKeyedService<ImageGeneratorProvider>(name));
    }

    private static void Register(IServiceCollection services, string name, string configurationKey, Action<OpenAIImageProviderOptions>? configure)
    {
        var options = services.AddOptions<OpenAIImageProviderOptions>(name).BindStefnaConfiguration(configurationKey).ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OpenAIImageProviderOptions>, OpenAIImageProviderOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        if (services.Any(d => d.ServiceType == typeof(ImageGeneratorProvider) && Equals(d.ServiceKey, name)))
        {
            return;
        }

        services.AddKeyedSingleton(name, (sp, _) =>
        {
            var o = sp.GetRequiredService<IOptionsMonitor<OpenAIImageProviderOptions>>().Get(name);
            var client = new ImageClient(o.Model, new ApiKeyCredential(o.ResolveApiKey() ?? string.Empty), new OpenAIClientOptions
            {
                Endpoint = o.Endpoint,
                NetworkTimeout = o.NetworkTimeout,
                RetryPolicy = new ClientRetryPolicy(o.MaxRetries),
            });
#pragma warning disable MEAI001 // IImageGenerator is experimental in Microsoft.Extensions.AI (this package opts in)
            var generator = client.AsIImageGenerator();
#pragma warning restore MEAI001
            return new ImageGeneratorProvider(
                generator,
                new ImageGeneratorProviderOptions { Name = DefaultName, ModelId = o.Model, UseRequestModel = o.UseRequestModel, ImageSize = o.ParseImageSize() },
                sp.GetRequiredService<TimeProvider>(),
                sp.GetService<ILogger<ImageGeneratorProvider>>());
        });
    }
}
