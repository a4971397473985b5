using Microsoft.Extensions.DependencyInjection;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Providers;

namespace Stefna.Sdk.Internal;

/// <summary>Marks a generation type registered by a plug-in's <c>AddXxx()</c>; one per type however often it is called.</summary>
internal sealed record GeneratorRegistration(string Type);

/// <summary>Provider middleware for one type, from <c>ConfigureProvider(type, ...)</c>; applied in registration order.</summary>
internal sealed record ProviderMiddlewareRegistration(string Type, Action<ImageProviderBuilder> Configure);

/// <summary>The registered types, their generators and providers, resolved once.</summary>
internal sealed class GenerationTypeRegistry : IDisposable
{
    private readonly Dictionary<string, (IGenerator Generator, IImageProvider? Provider)> _types;
    private readonly List<IImageProvider> _built = [];

    public GenerationTypeRegistry(IEnumerable<GeneratorRegistration> registrations, IEnumerable<ProviderMiddlewareRegistration> middleware, IServiceProvider services)
    {
        var middlewareByType = middleware.ToLookup(m => m.Type, StringComparer.OrdinalIgnoreCase);
        _types = new Dictionary<string, (IGenerator, IImageProvider?)>(StringComparer.OrdinalIgnoreCase);
        foreach (var registration in registrations)
        {
            if (_types.ContainsKey(registration.Type))
            {
                continue;
            }

            var generator = services.GetRequiredKeyedService<IGenerator>(registration.Type);
            if (!string.Equals(generator.Definition.Name, registration.Type, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"The generator registered as '{registration.Type}' describes itself as '{generator.Definition.Name}'.");
            }

            var provider = services.GetKeyedService<IImageProvider>(registration.Type) ?? services.GetService<IImageProvider>();
            if (provider is not null && middlewareByType[registration.Type].Any())
            {
                // Each type gets its own middleware instances around the (possibly shared) provider: its own rate
                // limiter, cache scope and logs, so one type's limits never slow another.
                var builder = new ImageProviderBuilder(provider);
                foreach (var configure in middlewareByType[registration.Type])
                {
                    configure.Configure(builder);
                }

                provider = builder.Build(services);
                _built.AddRange(builder.BuiltLayers);
            }

            _types.Add(registration.Type, (generator, provider));
        }

        Definitions = [.. _types.Values.Select(t => t.Generator.Definition).OrderBy(d => d.Name, StringComparer.Ordinal)];
        Names = [.. Definitions.Select(d => d.Name)];
    }

    public IReadOnlyList<GenerationTypeDefinition> Definitions { get; }

    public IReadOnlyList<string> Names { get; }

    public IGenerator GetGenerator(string type) => Resolve(type).Generator;

    public IImageProvider GetProvider(string type) =>
        Resolve(type).Provider ?? throw new InvalidOperationException($"No image provider is configured for '{type}': call UseOfflineProvider(), UseAimlApi(...) or UseProvider<T>() on the Stefna builder.");

    public bool TryGetProvider(string type, out IImageProvider? provider)
    {
        provider = _types.TryGetValue(type, out var entry) ? entry.Provider : null;
        return provider is not null;
    }

    /// <summary>The canonical name of a registered type, or throws <see cref="UnknownGenerationTypeException"/>.</summary>
    public string Canonical(string? type)
    {
        if (!string.IsNullOrWhiteSpace(type) && _types.TryGetValue(type.Trim(), out var entry))
        {
            return entry.Generator.Definition.Name;
        }

        throw new UnknownGenerationTypeException(type ?? string.Empty, Names);
    }

    /// <summary>Releases the middleware layers built here (their timers and limiters); the providers inside, and any
    /// provider the container created, belong to the container.</summary>
    public void Dispose()
    {
        foreach (var provider in _built)
        {
            (provider as IDisposable)?.Dispose();
        }
    }

    private (IGenerator Generator, IImageProvider? Provider) Resolve(string type) =>
        _types.TryGetValue(type, out var entry) ? entry : throw new UnknownGenerationTypeException(type, Names);
}
