using Microsoft.Extensions.DependencyInjection.Extensions;
using Stefna.Sdk.Generators;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers prompt policies (<see cref="IPromptPolicy"/>) that generators taking free text apply.</summary>
public static class PromptPolicyBuilderExtensions
{
    /// <summary>Adds a prompt policy as a singleton; adding the same policy type again is harmless.</summary>
    /// <typeparam name="TPolicy">The policy.</typeparam>
    /// <param name="builder">The Stefna builder.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder AddPromptPolicy<TPolicy>(this IStefnaBuilder builder)
        where TPolicy : class, IPromptPolicy
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IPromptPolicy, TPolicy>());
        return builder;
    }

    /// <summary>Adds a prompt policy created by a factory (each call adds one).</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="factory">Creates the policy.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder AddPromptPolicy(this IStefnaBuilder builder, Func<IServiceProvider, IPromptPolicy> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.AddSingleton(factory);
        return builder;
    }
}
