using Stefna.Sdk;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Storage;

namespace Contoso.RetroPoster;

/// <summary>
/// Retro Poster's own job store, written without the SDK's relational stores: every job is one JSON document in a
/// directory (<c>&lt;directory&gt;/&lt;table&gt;/&lt;job id&gt;.json</c>), written to a temporary file, flushed to disk and
/// renamed over the old document, so a crash leaves either the old or the new document, never half of one. All
/// jobs are also held in memory; reads, claims and the feed are answered from there, every write goes to disk first.
/// </summary>
/// <remarks>
/// <para>Implements the minimal store roles (<see cref="IMediaStore"/> = <see cref="IJobRecordStore"/> +
/// <see cref="IJobQueue"/> + <see cref="IMediaStoreSchema"/>) and no optional one: no <see cref="IJobParking"/> (the
/// engine polls an asynchronous provider inside the attempt), no <see cref="IJobNotificationSource"/> (the worker
/// polls), no <c>IWebhookOutbox</c> (a webhook URL is refused for this type).</para>
/// <para>Limits, by design: <b>one process</b>. The store takes an exclusive lock on <c>&lt;directory&gt;/.lock</c> while
/// it is open; a second store on the same directory, in this process or another, is refused. Every job of every
/// initialised type is held in memory, and writes are serialised behind one lock with one fsync each: suited to one
/// host with up to some tens of thousands of jobs, not to a fleet of workers. The directory is not synced after a
/// rename, so after a power cut (not a process crash) the last write may read back as the document it replaced; a
/// document is never read back half written.</para>
/// <para>All clock reads (leases, back-off, <see cref="GenerationJob.UpdatedAt"/>) go through the
/// <see cref="TimeProvider"/> given.</para>
/// </remarks>
public sealed partial class RetroPosterStore : IMediaStore, IDisposable
{
    private const int MaxExhaustedKept = 1000;

    private readonly string _root;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly FileStream _lock;
    private readonly Dictionary<string, Table> _tables = new(StringComparer.Ordinal);
    private readonly Queue<GenerationJob> _exhausted = new();
    private bool _disposed;

    /// <summary>Opens (or creates) a store in <paramref name="directory"/>. Call <see cref="InitializeAsync"/> with the
    /// types it keeps before anything else; the host does.</summary>
    /// <param name="directory">The store's directory; created when missing.</param>
    /// <param name="timeProvider">The clock; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <exception cref="InvalidOperationException">Another store (in this process or another) has the directory open.</exception>
    public RetroPosterStore(string directory, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        _root = Path.GetFullPath(directory);
        _time = timeProvider ?? TimeProvider.System;
        Directory.CreateDirectory(_root);
        var lockPath = Path.Combine(_root, ".lock");
        try
        {
            // FileShare.None is an exclusive advisory lock (flock) on Unix and a sharing lock on Windows.
            _lock = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new InvalidOperationException($"The Retro Poster store '{_root}' is open in another store or process; it serves one process at a time.", e);
        }
    }

    /// <summary>The store's directory (full path).</summary>
    public string DirectoryPath => _root;

    /// <inheritdoc />
    public Task InitializeAsync(IReadOnlyList<GenerationTypeDefinition> types, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(types);
        return Locked(cancellationToken, () =>
        {
            foreach (var definition in types)
            {
                if (!_tables.ContainsKey(definition.Name))
                {
                    _tables[definition.Name] = Table.Load(definition, Path.Combine(_root, definition.TableName));
                }
            }

            return true;
        });
    }

    /// <inheritdoc />
    public Task<InsertResult> InsertAsync(NewGenerationJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        return Locked(cancellationToken, () =>
        {
            var table = TableOf(job.Type);
            MediaStoreChecks.CheckInsert(table.Definition, job);
            if (job.IdempotencyKey is not null && table.FindByKey(job.UserId, job.IdempotencyKey) is { } existing)
            {
                return new InsertResult(existing, Created: false);
            }

            if (table.Jobs.ContainsKey(job.Id))
            {
                throw new InvalidOperationException($"Job {job.Id} already exists.");
            }

            var stored = job.ToQueuedJob(table.Definition);
            table.Save(stored);
            return new InsertResult(stored, Created: true);
        });
    }

    /// <inheritdoc />
    public Task<GenerationJob?> FindByIdempotencyKeyAsync(string type, string userId, string idempotencyKey, CancellationToken cancellationToken) =>
        Locked(cancellationToken, () => TableOf(type).FindByKey(userId, idempotencyKey));

    /// <inheritdoc />
    public Task<GenerationJob?> GetAsync(string type, Guid id, string userId, CancellationToken cancellationToken) =>
        Locked(cancellationToken, () => TableOf(type).Jobs.GetValueOrDefault(id) is { } job && string.Equals(job.UserId, userId, StringComparison.Ordinal) ? job : null);

    /// <inheritdoc />
    public Task<GenerationJob?> CancelAsync(string type, Guid id, string userId, CancellationToken cancellationToken) =>
        Locked(cancellationToken, () =>
        {
            var table = TableOf(type);
            if (table.Jobs.GetValueOrDefault(id) is not { } job || !string.Equals(job.UserId, userId, StringComparison.Ordinal))
            {
                return null;
            }

            if (job.Status is not (GenerationStatus.Queued or GenerationStatus.Processing))
            {
                return job;
            }

            var canceled = job with { Status = GenerationStatus.Canceled, LeaseUntil = null, UpdatedAt = _time.GetUtcNow() };
            table.Save(canceled);
            return canceled;
        });

    /// <inheritdoc />
    public Task<FeedPage> QueryFeedAsync(FeedQuery query, CancellationToken cancellationToken)
    {
        return Locked(cancellationToken, () =>
        {
            var cursor = MediaStoreChecks.CheckFeedQuery(query);
            var tables = query.Types is { Count: > 0 } ? query.Types.Distinct(StringComparer.Ordinal).Select(TableOf) : _tables.Values;
            var page = tables
                .SelectMany(t => t.Jobs.Values)
                .Where(j => string.Equals(j.UserId, query.UserId, StringComparison.Ordinal))
                .Where(j => query.Status is not { } status || j.Status == status)
                .Where(j => query.Tag is not { } tag || j.Tags.Contains(tag, StringComparer.Ordinal))
                .Where(j => cursor is not { } c || FeedOrder(j, c.CreatedAt, c.Id) > 0)
                .OrderBy(j => j, Comparer<GenerationJob>.Create((a, b) => FeedOrder(a, b.CreatedAt, b.Id)))
                .Take(query.Limit + 1)
                .ToList();
            string? next = null;
            if (page.Count > query.Limit)
            {
                page.RemoveAt(query.Limit);
                next = new FeedCursor(page[^1].CreatedAt, page[^1].Id).Encode();
            }

            return new FeedPage(page, next);
        });
    }

    /// <summary>Releases the directory's lock; the store cannot be used afterwards.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                _disposed = true;
                _lock.Dispose();
            }
        }
    }

    // The feed's order: newest first, then the id's canonical lower-case text descending (what the relational stores'
    // ORDER BY created_at DESC, id DESC gives), so the SDK merges this store's pages with theirs. Negative when the job
    // comes before (createdAt, id) in the feed, positive when after.
    private static int FeedOrder(GenerationJob job, DateTimeOffset createdAt, Guid id)
    {
        var byTime = createdAt.UtcTicks.CompareTo(job.CreatedAt.UtcTicks);
        return byTime != 0 ? byTime : string.CompareOrdinal(id.ToString("D"), job.Id.ToString("D"));
    }

    private Table TableOf(string type) =>
        _tables.TryGetValue(type, out var table) ? table : throw new ArgumentException($"The Retro Poster store keeps no type '{type}'; it keeps: {string.Join(", ", _tables.Keys)}.", nameof(type));

    // Runs an operation under the store's lock. Everything is in memory, and each write is one small file, so the
    // operations complete synchronously; a failure is returned as a faulted task, as from any asynchronous store.
    private Task<T> Locked<T>(CancellationToken cancellationToken, Func<T> operation)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(cancellationToken);
        }

        try
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                return Task.FromResult(operation());
            }
        }
        catch (Exception e)
        {
            return Task.FromException<T>(e);
        }
    }
}
