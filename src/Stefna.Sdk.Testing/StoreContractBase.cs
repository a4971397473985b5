using Stefna.Sdk.Generators;
using Stefna.Sdk.Storage;
using Stefna.Sdk.Webhooks;
using Xunit;

namespace Stefna.Sdk.Testing;

/// <summary>
/// What the store conformance suites share: the store under test (<see cref="CreateStoreAsync"/>, a new one per fact,
/// disposed after it), the test types, and the helpers that build, insert and read jobs. Not a suite itself: derive
/// one class per role the store implements, each overriding <see cref="CreateStoreAsync"/> the same way:
/// <see cref="MediaStoreContractTests"/> (every store: <see cref="IJobRecordStore"/>, <see cref="IJobQueue"/>,
/// <see cref="IMediaStoreSchema"/>), <see cref="JobParkingContractTests"/> (stores that implement
/// <see cref="IJobParking"/>) and <see cref="WebhookOutboxContractTests"/> (stores that implement
/// <see cref="IWebhookOutbox"/>).
/// </summary>
/// <remarks>
/// <para>Requirements on the store under test: it uses the system clock (the lease-expiry facts wait about 1.5 s in
/// real time); it keeps timestamps to at least microsecond precision; it orders the feed by <c>created_at</c>
/// descending, then by id descending in the canonical lower-case text form of the UUID (which is also PostgreSQL's
/// <c>uuid</c> order).</para>
/// <para>Stores that implement <see cref="IAsyncDisposable"/> or <see cref="IDisposable"/> are disposed after each
/// fact; override <see cref="DisposeAsync"/> (and call the base) to clean up anything else, such as a temp folder.</para>
/// </remarks>
public abstract class StoreContractBase : IAsyncLifetime
{
    /// <summary>The user most facts act as.</summary>
    protected const string UserA = "user-a";

    /// <summary>A second user, whose jobs must stay invisible to <see cref="UserA"/>.</summary>
    protected const string UserB = "user-b";

    /// <summary>A long lease, for facts where the lease must not expire while they run.</summary>
    protected static readonly TimeSpan LongLease = TimeSpan.FromMinutes(5);

    /// <summary>The most claims a job gets in these facts (what a worker passes from <c>StefnaOptions.MaxAttempts</c>).</summary>
    protected const int MaxAttempts = 3;

    private readonly List<IMediaStore> _stores = [];
    private readonly List<object> _resources = [];
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));

    /// <summary>A test-only type with no columns of its own and no catalogue (table <c>contract_plain_media</c>).</summary>
    public static GenerationTypeDefinition PlainType { get; } = new("contract-plain", "contract_plain_media", "Contract plain")
    {
        Description = "A type with only the common columns.",
    };

    /// <summary>A test-only type with two columns of its own, <c>mood</c> and <c>intensity</c> (table <c>contract_columns_media</c>).</summary>
    public static GenerationTypeDefinition ColumnsType { get; } = new("contract-columns", "contract_columns_media", "Contract columns")
    {
        Description = "A type with extra columns.",
        ExtraColumns = ["mood", "intensity"],
    };

    /// <summary>A test-only type whose <c>preset</c> column refers to a catalogue (table <c>contract_catalog_media</c>,
    /// catalogue <c>contract_catalog_presets</c>). Jobs of this type only ever carry catalogue keys as preset.</summary>
    public static GenerationTypeDefinition CatalogType { get; } = new("contract-catalog", "contract_catalog_media", "Contract catalogue")
    {
        Description = "A type with a preset catalogue.",
        RequiresSourceImage = false,
        Catalog = new CatalogDefinition("contract_catalog_presets",
        [
            new CatalogEntry("studio_portrait", "Studio portrait", "Soft key light, plain backdrop."),
            new CatalogEntry("film_noir", "Film noir", "High-contrast black and white with hard shadows."),
            new CatalogEntry("o'hare_\"quoted\"", "Quoted key", "A key with SQL metacharacters in it."),
        ]),
    };

    /// <summary>The three test types, in the order passed to <see cref="CreateStoreAsync"/>.</summary>
    public static IReadOnlyList<GenerationTypeDefinition> ContractTypes { get; } = [PlainType, ColumnsType, CatalogType];

    /// <summary>A token that cancels a fact that hangs (two minutes).</summary>
    protected CancellationToken Ct => _timeout.Token;

    /// <summary>Creates an empty store whose tables for <paramref name="types"/> exist (<see cref="IMediaStoreSchema.InitializeAsync"/>
    /// already called). Each call must return a store that shares no jobs with any other.</summary>
    /// <param name="types">The types to initialise; the suite passes <see cref="ContractTypes"/>.</param>
    /// <returns>The store.</returns>
    protected abstract Task<IMediaStore> CreateStoreAsync(IReadOnlyList<GenerationTypeDefinition> types);

    /// <inheritdoc />
#if XUNIT_V3
    public virtual ValueTask InitializeAsync() => ValueTask.CompletedTask;
#else
    public virtual Task InitializeAsync() => Task.CompletedTask;
#endif

    /// <summary>Disposes the stores the fact created, then what was given to <see cref="DisposeAfterFact"/>. Overrides
    /// must call the base.</summary>
    /// <returns>A task that completes when everything is disposed.</returns>
#if XUNIT_V3
    public virtual async ValueTask DisposeAsync()
#else
    public virtual async Task DisposeAsync()
#endif
    {
        foreach (var owned in _stores.Concat(_resources))
        {
            if (owned is IAsyncDisposable asyncDisposable)
            {
                await asyncDisposable.DisposeAsync();
            }
            else if (owned is IDisposable disposable)
            {
                disposable.Dispose();
            }
        }

        _stores.Clear();
        _resources.Clear();
        _timeout.Dispose();
    }

    /// <summary>Disposes <paramref name="resource"/> after the fact, once the stores are disposed: for what a store
    /// under test needs beside itself, such as a temp folder or a database to drop, so that
    /// <see cref="CreateStoreAsync"/> is all a derived suite overrides.</summary>
    /// <typeparam name="T">An <see cref="IAsyncDisposable"/> or <see cref="IDisposable"/> type.</typeparam>
    /// <param name="resource">The resource.</param>
    /// <returns><paramref name="resource"/>.</returns>
    protected T DisposeAfterFact<T>(T resource)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(resource);
        if (resource is not (IAsyncDisposable or IDisposable))
        {
            throw new ArgumentException($"{resource.GetType().Name} is neither IAsyncDisposable nor IDisposable.", nameof(resource));
        }

        _resources.Add(resource);
        return resource;
    }

    /// <summary>Creates a store for <see cref="ContractTypes"/> and remembers it for disposal.</summary>
    /// <returns>The empty store.</returns>
    protected async Task<IMediaStore> NewStoreAsync()
    {
        var store = await CreateStoreAsync(ContractTypes);
        Assert.NotNull(store);
        _stores.Add(store);
        return store;
    }

    /// <summary>Creates a store as <see cref="NewStoreAsync"/> does, and gives it also as the optional role a suite
    /// tests; the fact fails when the store does not implement that role.</summary>
    /// <typeparam name="TRole">The role, e.g. <see cref="IJobParking"/>.</typeparam>
    /// <returns>The empty store, and the same store as <typeparamref name="TRole"/>.</returns>
    protected async Task<(IMediaStore Store, TRole Role)> NewStoreWithAsync<TRole>()
        where TRole : class
    {
        var store = await NewStoreAsync();
        Assert.True(store is TRole, $"{store.GetType().Name} does not implement {typeof(TRole).Name}: derive this suite only for a store that does.");
        return (store, (TRole)store);
    }

    /// <summary>A fixed point in the past, on a whole microsecond, from which facts build creation times.</summary>
    protected static DateTimeOffset BaseTime { get; } = new(2024, 3, 14, 15, 9, 26, TimeSpan.Zero);

    /// <summary>Now, truncated to a whole microsecond so it survives stores with microsecond precision.</summary>
    /// <returns>The current UTC time.</returns>
    protected static DateTimeOffset UtcNowMicroseconds()
    {
        var now = DateTimeOffset.UtcNow;
        return now.AddTicks(-(now.UtcTicks % 10));
    }

    /// <summary>A minimal queued job.</summary>
    /// <param name="type">The job's type.</param>
    /// <param name="createdAt">Its creation time.</param>
    /// <param name="userId">Its user; <see cref="UserA"/> by default.</param>
    /// <param name="tags">Its tags.</param>
    /// <returns>The job to insert.</returns>
    protected static NewGenerationJob NewJob(GenerationTypeDefinition type, DateTimeOffset createdAt, string userId = UserA, IReadOnlyList<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(type);
        return new NewGenerationJob
        {
            Id = Guid.NewGuid(),
            Type = type.Name,
            UserId = userId,
            Prompt = "a portrait",
            Preset = type.Catalog?.Entries[0].Key,
            Tags = tags ?? [type.Name],
            Meta = new Dictionary<string, string> { ["origin"] = "contract" },
            CreatedAt = createdAt,
        };
    }

    /// <summary>Inserts a job and checks it was created.</summary>
    /// <param name="store">The store.</param>
    /// <param name="job">The job.</param>
    /// <returns>The stored job.</returns>
    protected async Task<GenerationJob> InsertAsync(IMediaStore store, NewGenerationJob job)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(job);
        var result = await store.InsertAsync(job, Ct);
        Assert.True(result.Created, $"Job {job.Id} should have been created.");
        Assert.Equal(job.Id, result.Job.Id);
        return result.Job;
    }

    /// <summary>Reads a job of <see cref="UserA"/> that must exist.</summary>
    /// <param name="store">The store.</param>
    /// <param name="type">The job's type.</param>
    /// <param name="id">The job's id.</param>
    /// <returns>The job.</returns>
    protected async Task<GenerationJob> GetRequiredAsync(IMediaStore store, GenerationTypeDefinition type, Guid id)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(type);
        var job = await store.GetAsync(type.Name, id, UserA, Ct);
        Assert.NotNull(job);
        return job;
    }

    /// <summary>Checks that a stored job holds exactly what was inserted and is freshly queued.</summary>
    /// <param name="expected">What was inserted.</param>
    /// <param name="type">The job's type (for its extra columns).</param>
    /// <param name="actual">What the store returned.</param>
    protected static void AssertSameAsInserted(NewGenerationJob expected, GenerationTypeDefinition type, GenerationJob? actual)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(type);
        Assert.NotNull(actual);
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.Type, actual.Type);
        Assert.Equal(expected.UserId, actual.UserId);
        Assert.Equal(GenerationStatus.Queued, actual.Status);
        Assert.Equal(expected.Prompt, actual.Prompt);
        Assert.Equal(expected.Preset, actual.Preset);
        Assert.Equal(expected.SourceImageUrl, actual.SourceImageUrl);
        Assert.Null(actual.ImageUrl);
        Assert.Equal(expected.Tags, actual.Tags);
        Assert.Equal(Sorted(expected.Meta), Sorted(actual.Meta));
        foreach (var column in type.ExtraColumns)
        {
            Assert.Equal(expected.Columns.GetValueOrDefault(column), actual.GetColumn(column));
        }

        Assert.Null(actual.Error);
        Assert.Equal(0, actual.Attempts);
        Assert.Null(actual.LeaseUntil);
        Assert.Null(actual.ProviderJobId);
        Assert.Equal(expected.IdempotencyKey, actual.IdempotencyKey);
        Assert.Null(actual.LegacyId);
        Assert.Equal(expected.CreatedAt, actual.CreatedAt);
        Assert.Equal(expected.CreatedAt.UtcTicks, actual.CreatedAt.UtcTicks);
        Assert.True(actual.UpdatedAt >= actual.CreatedAt, "UpdatedAt must not precede CreatedAt.");
    }

    /// <summary>Checks that two errors are the same category, code and message.</summary>
    /// <param name="expected">The error written.</param>
    /// <param name="actual">The error read back.</param>
    protected static void AssertSameError(GenerationError expected, GenerationError? actual)
    {
        ArgumentNullException.ThrowIfNull(expected);
        Assert.NotNull(actual);
        Assert.Equal(expected.Category, actual.Category);
        Assert.Equal(expected.Code, actual.Code);
        Assert.Equal(expected.Message, actual.Message);
    }

    private protected static List<KeyValuePair<string, string>> Sorted(IReadOnlyDictionary<string, string> map) =>
        [.. map.OrderBy(p => p.Key, StringComparer.Ordinal)];
}
