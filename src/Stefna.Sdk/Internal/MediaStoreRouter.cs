using Microsoft.Extensions.DependencyInjection;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Storage;

namespace Stefna.Sdk.Internal;

/// <summary>A type registered with a store of its own (<c>UseMediaStore(type, …)</c>); the store itself is a keyed
/// <see cref="IMediaStore"/> under <see cref="Key"/>.</summary>
internal sealed record TypeStoreRegistration(string Type)
{
    /// <summary>The service key of the type's store.</summary>
    public object Key => new TypeStoreKey(Type);
}

/// <summary>The service key of a type's own store: a record, so keys of the same type are equal and keys cannot clash
/// with an application's own keyed stores.</summary>
internal sealed record TypeStoreKey(string Type);

/// <summary>Routes every store call of the pipeline, the worker and the health checks to the store of the job's type:
/// the type's own store when it has one, else the host's default store. Each store's wake-up source comes with it: a
/// type's own store wakes the type's producer when it implements <see cref="IJobNotificationSource"/>; types on the
/// default store wake through the host's registered source.</summary>
internal sealed class MediaStoreRouter(IServiceProvider services, GenerationTypeRegistry registry, IEnumerable<TypeStoreRegistration> registrations)
{
    private readonly Lazy<Routes> _routes = new(() => Build(services, registry, registrations), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The store of a registered type (by its canonical name).</summary>
    public IMediaStore For(string type) =>
        _routes.Value.Stores.TryGetValue(type, out var store)
            ? store
            : throw new InvalidOperationException($"No media store is configured for the generation type '{type}'.");

    /// <summary>The records role of a type's store (what the pipeline uses).</summary>
    public IJobRecordStore RecordsFor(string type) => For(type);

    /// <summary>The queue role of a type's store (what the engine uses).</summary>
    public IJobQueue QueueFor(string type) => For(type);

    /// <summary>The parking role of a type's store, if the store parks jobs.</summary>
    public IJobParking? ParkingFor(string type) => For(type) as IJobParking;

    /// <summary>The wake-up source of a type's store, if it has one.</summary>
    public IJobNotificationSource? NotificationsFor(string type) =>
        _routes.Value.Notifications.TryGetValue(type, out var source) ? source : null;

    /// <summary>The distinct stores and the types each holds, in registration order.</summary>
    public IReadOnlyList<(IMediaStore Store, IReadOnlyList<GenerationTypeDefinition> Types)> Groups => _routes.Value.Groups;

    /// <summary>The distinct stores the types use that also play <typeparamref name="TRole"/> (e.g. a webhook outbox).</summary>
    /// <typeparam name="TRole">The role.</typeparam>
    /// <returns>The stores, in registration order.</returns>
    public IEnumerable<TRole> StoresWith<TRole>() => Groups.Select(g => g.Store).OfType<TRole>();

    /// <summary>The problems of the composition: types with no store, stores for types that are not registered.</summary>
    public IEnumerable<string> Problems()
    {
        var names = registry.Names.ToHashSet(StringComparer.Ordinal);
        foreach (var registration in registrations.DistinctBy(r => r.Type))
        {
            if (!names.Contains(registration.Type))
            {
                yield return $"a media store is configured for '{registration.Type}', which is not a registered generation type (use its canonical name: {string.Join(", ", registry.Names)})";
            }
        }

        if (services.GetService<IMediaStore>() is null)
        {
            var homeless = registry.Names.Where(n => !registrations.Any(r => r.Type == n)).ToList();
            if (homeless.Count == registry.Names.Count)
            {
                yield return "no media store is configured: call UseSqlite(...) or UsePostgres(...)";
            }
            else if (homeless.Count > 0)
            {
                yield return $"no media store is configured for {string.Join(", ", homeless.Select(n => $"'{n}'"))}: give each its own (UseSqlite(type, ...), UsePostgres(type, ...)) or configure a default store";
            }
        }
    }

    /// <summary>Creates each store's tables for the types it holds.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        foreach (var (store, types) in Groups)
        {
            await store.InitializeAsync(types, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One page of the unified feed. Types that share a store are read with one query; across stores each
    /// store's page is read with the same cursor and the pages are merged in the feed's order (newest first, then id
    /// descending), so the cursor format and the order are the same as from one store.</summary>
    public async Task<FeedPage> QueryFeedAsync(FeedQuery query, CancellationToken cancellationToken)
    {
        var types = query.Types is { Count: > 0 } ? query.Types : registry.Names;
        var groups = types.GroupBy<string, IMediaStore>(For, ReferenceEqualityComparer.Instance).ToList();
        if (groups.Count == 1)
        {
            return await groups[0].Key.QueryFeedAsync(query with { Types = [.. groups[0]] }, cancellationToken).ConfigureAwait(false);
        }

        var pages = await Task.WhenAll(groups.Select(g => g.Key.QueryFeedAsync(query with { Types = [.. g] }, cancellationToken))).ConfigureAwait(false);
        var merged = pages.SelectMany(p => p.Items).OrderBy(j => j, FeedOrder.Instance).ToList();
        var more = merged.Count > query.Limit || pages.Any(p => p.NextCursor is not null);
        if (merged.Count > query.Limit)
        {
            merged.RemoveRange(query.Limit, merged.Count - query.Limit);
        }

        return new FeedPage(merged, more && merged.Count > 0 ? new FeedCursor(merged[^1].CreatedAt, merged[^1].Id).Encode() : null);
    }

    private static Routes Build(IServiceProvider services, GenerationTypeRegistry registry, IEnumerable<TypeStoreRegistration> registrations)
    {
        var own = registrations.DistinctBy(r => r.Type).ToDictionary(r => r.Type, StringComparer.Ordinal);
        var fallback = services.GetService<IMediaStore>();
        var fallbackNotifications = services.GetServices<IJobNotificationSource>().FirstOrDefault();
        var stores = new Dictionary<string, IMediaStore>(StringComparer.Ordinal);
        var notifications = new Dictionary<string, IJobNotificationSource>(StringComparer.Ordinal);
        var groups = new List<(IMediaStore Store, List<GenerationTypeDefinition> Types)>();
        foreach (var definition in registry.Definitions)
        {
            IMediaStore? store;
            IJobNotificationSource? source;
            if (own.TryGetValue(definition.Name, out var registration))
            {
                store = services.GetRequiredKeyedService<IMediaStore>(registration.Key);
                source = store as IJobNotificationSource;
            }
            else
            {
                store = fallback;
                source = fallbackNotifications;
            }

            if (store is null)
            {
                continue;
            }

            stores[definition.Name] = store;
            if (source is not null)
            {
                notifications[definition.Name] = source;
            }

            var group = groups.FindIndex(g => ReferenceEquals(g.Store, store));
            if (group < 0)
            {
                groups.Add((store, [definition]));
            }
            else
            {
                groups[group].Types.Add(definition);
            }
        }

        return new Routes(stores, notifications, [.. groups.Select(g => (g.Store, (IReadOnlyList<GenerationTypeDefinition>)g.Types))]);
    }

    private sealed record Routes(
        Dictionary<string, IMediaStore> Stores,
        Dictionary<string, IJobNotificationSource> Notifications,
        IReadOnlyList<(IMediaStore Store, IReadOnlyList<GenerationTypeDefinition> Types)> Groups);

    /// <summary>The feed's order: newest first, then id descending (the order of the stores' <c>ORDER BY created_at
    /// DESC, id DESC</c>: <see cref="Guid.CompareTo(Guid)"/> orders like PostgreSQL's uuid and SQLite's text id).</summary>
    private sealed class FeedOrder : IComparer<GenerationJob>
    {
        public static FeedOrder Instance { get; } = new();

        public int Compare(GenerationJob? x, GenerationJob? y)
        {
            ArgumentNullException.ThrowIfNull(x);
            ArgumentNullException.ThrowIfNull(y);
            var byTime = y.CreatedAt.UtcTicks.CompareTo(x.CreatedAt.UtcTicks);
            return byTime != 0 ? byTime : y.Id.CompareTo(x.Id);
        }
    }
}
