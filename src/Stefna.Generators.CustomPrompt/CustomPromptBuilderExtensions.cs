using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Stefna.Generators.CustomPrompt;
using Stefna.Sdk.Configuration;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Custom Prompt generation type and its blocked-terms policy.</summary>
public static class CustomPromptBuilderExtensions
{
    /// <summary>Adds Custom Prompt (<c>custom-prompt</c>, table <c>custom_prompt_media</c>). Safe to call more than once.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder AddCustomPrompt(this IStefnaBuilder builder) => builder.AddCustomPrompt(configure: null);

    /// <summary>Adds Custom Prompt and configures its concurrency, timeouts and resilience.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="configure">Configures the type's options.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder AddCustomPrompt(this IStefnaBuilder builder, Action<GenerationTypeOptions>? configure) =>
        builder.AddCustomPrompt(configurePrompt: null, configure);

    /// <summary>Adds Custom Prompt and configures its prompt limit as well as its concurrency, timeouts and resilience.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="configurePrompt">Configures <see cref="CustomPromptOptions"/>.</param>
    /// <param name="configure">Configures the type's options.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder AddCustomPrompt(this IStefnaBuilder builder, Action<CustomPromptOptions>? configurePrompt, Action<GenerationTypeOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<CustomPromptOptions>();
        if (configurePrompt is not null)
        {
            options.Configure(configurePrompt);
        }

        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CustomPromptOptions>, CustomPromptOptionsValidator>());
        return builder.AddGenerator<CustomPromptGenerator>(configure);
    }

    /// <summary>Adds the <see cref="BlockedTermsPromptPolicy"/>, which rejects prompts containing any of the given terms.
    /// Calling it again adds more terms to the same policy.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="terms">Words or phrases to block.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder AddBlockedTermsPromptPolicy(this IStefnaBuilder builder, params IEnumerable<string> terms)
    {
        ArgumentNullException.ThrowIfNull(terms);
        var list = terms.ToList();
        return builder.AddBlockedTermsPromptPolicy(o =>
        {
            foreach (var term in list)
            {
                o.Terms.Add(term);
            }
        });
    }

    /// <summary>Adds the <see cref="BlockedTermsPromptPolicy"/> and configures its terms and the types it applies to.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="configure">Configures the policy.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder AddBlockedTermsPromptPolicy(this IStefnaBuilder builder, Action<BlockedTermsPromptPolicyOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        return builder.AddPromptPolicy<BlockedTermsPromptPolicy>();
    }
}
