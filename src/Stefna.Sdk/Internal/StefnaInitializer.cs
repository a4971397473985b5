using Microsoft.Extensions.DependencyInjection;
using Stefna.Sdk.Assets;

namespace Stefna.Sdk.Internal;

/// <summary>Checks the composition once and creates the type tables, before the first submit or worker loop.</summary>
internal sealed class StefnaInitializer(IServiceProvider services, GenerationTypeRegistry registry, MediaStoreRouter stores)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile bool _done;

    public async Task EnsureInitializedAsync(CancellationToken cancellationToken)
    {
        if (_done)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_done)
            {
                return;
            }

            Validate();
            // Every store that keeps an outbox writes the application's endpoints' events too.
            var endpoints = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Webhooks.StefnaWebhookOptions>>().Value.Endpoints;
            foreach (var outbox in stores.StoresWith<Webhooks.IWebhookOutbox>())
            {
                outbox.WebhookEndpoints = [.. endpoints];
            }

            await stores.InitializeAsync(cancellationToken).ConfigureAwait(false);
            _done = true;
        }
        finally
        {
            _gate.Release();
        }
    }

    private void Validate()
    {
        var problems = new List<string>();
        if (registry.Definitions.Count == 0)
        {
            problems.Add("no generation type is registered: call a plug-in's AddXxx(), e.g. AddNeoGlitch()");
        }

        problems.AddRange(stores.Problems());

        if (services.GetService<IAssetStorage>() is null)
        {
            problems.Add("no asset storage is configured: call UseLocalFileStorage(...) or UseCloudinary(...)");
        }

        foreach (var type in registry.Names)
        {
            if (!registry.TryGetProvider(type, out _))
            {
                problems.Add($"no image provider is configured for '{type}': call UseOfflineProvider(), UseAimlApi(...) or UseProvider<T>()");
            }
        }

        var tables = registry.Definitions.GroupBy(d => d.TableName, StringComparer.Ordinal).Where(g => g.Count() > 1);
        foreach (var clash in tables)
        {
            problems.Add($"types {string.Join(" and ", clash.Select(d => d.Name))} share the table '{clash.Key}'");
        }

        if (problems.Count > 0)
        {
            throw new InvalidOperationException("Stefna is not configured correctly: " + string.Join("; ", problems) + ".");
        }
    }
}
