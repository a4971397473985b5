using Stefna.Sdk.Storage;
using Xunit;

namespace Stefna.Sdk.Testing;

// Facts on the user feed: keyset paging across types, and the tag, status and type filters.
public abstract partial class MediaStoreContractTests
{
    /// <summary>Paging a feed across two types, at several page sizes, yields every one of the user's jobs exactly
    /// once, newest first, and ends with a null cursor.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Feed_pages_across_types_newest_first_without_duplicates_or_gaps()
    {
        var store = await NewStoreAsync();
        var mine = await SeedFeedAsync(store);
        var expected = NewestFirst(mine.Where(j => j.Type != CatalogType.Name)).ToList();
        Assert.Equal(23, expected.Count);

        foreach (var limit in new[] { 1, 5, 22, 23, 24, FeedQuery.MaxLimit })
        {
            var pages = await ReadAllPagesAsync(store, new FeedQuery { UserId = UserA, Types = [PlainType.Name, ColumnsType.Name], Limit = limit });

            var items = pages.SelectMany(p => p.Items).ToList();
            Assert.Equal(expected.Select(j => j.Id), items.Select(j => j.Id));
            Assert.All(pages.SkipLast(1), p => Assert.Equal(limit, p.Items.Count));
            Assert.All(pages.SkipLast(1), p => Assert.NotNull(p.NextCursor));
            Assert.Null(pages[^1].NextCursor);
            Assert.NotEmpty(pages[^1].Items);
            Assert.Equal((expected.Count + limit - 1) / limit, pages.Count);
        }
    }

    /// <summary>Feed items carry the same fields as a keyed read, including their type and the type's own columns.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Feed_items_carry_every_field()
    {
        var store = await NewStoreAsync();
        var mine = await SeedFeedAsync(store);

        var page = await store.QueryFeedAsync(new FeedQuery { UserId = UserA, Types = [PlainType.Name, ColumnsType.Name, CatalogType.Name], Limit = FeedQuery.MaxLimit }, Ct);

        Assert.Equal(mine.Count, page.Items.Count);
        foreach (var item in page.Items)
        {
            var stored = mine.Single(j => j.Id == item.Id);
            Assert.Equal(stored.Type, item.Type);
            Assert.Equal(stored.UserId, item.UserId);
            Assert.Equal(stored.Status, item.Status);
            Assert.Equal(stored.Prompt, item.Prompt);
            Assert.Equal(stored.Preset, item.Preset);
            Assert.Equal(stored.Tags, item.Tags);
            Assert.Equal(Sorted(stored.Meta), Sorted(item.Meta));
            Assert.Equal(stored.CreatedAt, item.CreatedAt);
            Assert.Equal(stored.GetColumn("mood"), item.GetColumn("mood"));
        }

        Assert.Contains(page.Items, i => i.GetColumn("mood") == "mood" + SqlInjection);
    }

    /// <summary>The tag filter matches whole tags only (not substrings), with metacharacters and Unicode, across pages.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Feed_filters_by_tag()
    {
        var store = await NewStoreAsync();
        var mine = await SeedFeedAsync(store);
        var types = new[] { PlainType.Name, ColumnsType.Name, CatalogType.Name };

        foreach (var tag in new[] { "glitch", SqlInjection, "ünïcødé-🐉" })
        {
            var expected = NewestFirst(mine.Where(j => j.Tags.Contains(tag, StringComparer.Ordinal))).Select(j => j.Id).ToList();
            Assert.NotEmpty(expected);

            var pages = await ReadAllPagesAsync(store, new FeedQuery { UserId = UserA, Types = types, Tag = tag, Limit = 2 });

            Assert.Equal(expected, pages.SelectMany(p => p.Items).Select(j => j.Id));
        }

        // "glitch" is a prefix of "glitch-extra" and of no whole tag elsewhere: substrings never match.
        Assert.Empty((await store.QueryFeedAsync(new FeedQuery { UserId = UserA, Types = types, Tag = "glitc" }, Ct)).Items);
        Assert.Empty((await store.QueryFeedAsync(new FeedQuery { UserId = UserA, Types = types, Tag = "%" }, Ct)).Items);
        Assert.Empty((await store.QueryFeedAsync(new FeedQuery { UserId = UserA, Types = types, Tag = "no-such-tag" }, Ct)).Items);
    }

    /// <summary>The status filter returns only jobs in that status.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Feed_filters_by_status()
    {
        var store = await NewStoreAsync();
        var completed = await InsertAsync(store, NewJob(PlainType, BaseTime));
        var failed = await InsertAsync(store, NewJob(PlainType, BaseTime.AddMinutes(1)));
        var processing = await InsertAsync(store, NewJob(PlainType, BaseTime.AddMinutes(2)));
        var queued = await InsertAsync(store, NewJob(PlainType, BaseTime.AddMinutes(3)));
        var queuedOther = await InsertAsync(store, NewJob(ColumnsType, BaseTime.AddMinutes(4)));
        var canceled = await InsertAsync(store, NewJob(ColumnsType, BaseTime.AddMinutes(5)));
        await InsertAsync(store, NewJob(PlainType, BaseTime.AddMinutes(6), UserB));
        Assert.True(await store.CompleteAsync((await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts))!, new JobResult("file:///c.png", new Dictionary<string, string>()), Ct));
        Assert.True(await store.FailAsync((await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts))!, new GenerationError(GenerationErrorCategory.Internal, "internal", "boom"), Ct));
        Assert.Equal(processing.Id, (await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts))?.Id);
        await store.CancelAsync(ColumnsType.Name, canceled.Id, UserA, Ct);

        async Task<List<Guid>> FeedAsync(GenerationStatus status) =>
            [.. (await store.QueryFeedAsync(new FeedQuery { UserId = UserA, Types = [PlainType.Name, ColumnsType.Name], Status = status }, Ct)).Items.Select(j => j.Id)];

        Assert.Equal([completed.Id], await FeedAsync(GenerationStatus.Completed));
        Assert.Equal([failed.Id], await FeedAsync(GenerationStatus.Failed));
        Assert.Equal([processing.Id], await FeedAsync(GenerationStatus.Processing));
        Assert.Equal([queuedOther.Id, queued.Id], await FeedAsync(GenerationStatus.Queued));
        Assert.Equal([canceled.Id], await FeedAsync(GenerationStatus.Canceled));
    }

    /// <summary>The type filter returns only jobs of the listed types.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Feed_filters_by_type()
    {
        var store = await NewStoreAsync();
        var mine = await SeedFeedAsync(store);

        foreach (var type in ContractTypes)
        {
            var expected = NewestFirst(mine.Where(j => j.Type == type.Name)).Select(j => j.Id).ToList();
            Assert.NotEmpty(expected);

            var pages = await ReadAllPagesAsync(store, new FeedQuery { UserId = UserA, Types = [type.Name], Limit = 4 });

            Assert.Equal(expected, pages.SelectMany(p => p.Items).Select(j => j.Id));
        }
    }

    /// <summary>A user with no jobs gets an empty page and no cursor; another user's jobs never show.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Feed_is_scoped_to_the_user()
    {
        var store = await NewStoreAsync();
        await SeedFeedAsync(store);

        var empty = await store.QueryFeedAsync(new FeedQuery { UserId = "user-without-jobs", Types = [PlainType.Name, ColumnsType.Name, CatalogType.Name] }, Ct);
        Assert.Empty(empty.Items);
        Assert.Null(empty.NextCursor);

        var other = await store.QueryFeedAsync(new FeedQuery { UserId = UserB, Types = [PlainType.Name, ColumnsType.Name, CatalogType.Name], Limit = FeedQuery.MaxLimit }, Ct);
        Assert.Equal(10, other.Items.Count);
        Assert.All(other.Items, j => Assert.Equal(UserB, j.UserId));
    }

    /// <summary>Orders jobs as the feed must: newest first, then by id (canonical lower-case text) descending.</summary>
    /// <param name="jobs">The jobs.</param>
    /// <returns>The jobs in feed order.</returns>
    protected static IEnumerable<GenerationJob> NewestFirst(IEnumerable<GenerationJob> jobs) =>
        jobs.OrderByDescending(j => j.CreatedAt.UtcTicks).ThenByDescending(j => j.Id.ToString("D"), StringComparer.Ordinal);

    /// <summary>Follows a feed's cursors to the end (at most 500 pages).</summary>
    /// <param name="store">The store.</param>
    /// <param name="query">The first page's query.</param>
    /// <returns>The pages.</returns>
    protected async Task<List<FeedPage>> ReadAllPagesAsync(IMediaStore store, FeedQuery query)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(query);
        var pages = new List<FeedPage>();
        var current = query;
        for (var i = 0; i < 500; i++)
        {
            var page = await store.QueryFeedAsync(current, Ct);
            pages.Add(page);
            if (page.NextCursor is null)
            {
                return pages;
            }

            current = current with { Cursor = page.NextCursor };
        }

        Assert.Fail("The feed did not end within 500 pages.");
        return pages;
    }

    /// <summary>Seeds a feed: for <see cref="StoreContractBase.UserA"/>, 23 jobs across
    /// <see cref="StoreContractBase.PlainType"/> and <see cref="StoreContractBase.ColumnsType"/> (several sharing a
    /// creation time, across types) and 3 of <see cref="StoreContractBase.CatalogType"/>; 10 interleaved jobs of
    /// <see cref="StoreContractBase.UserB"/>. Tags: every third job <c>glitch</c>, others <c>glitch-extra</c>; a few
    /// carry SQL metacharacters or Unicode.</summary>
    /// <param name="store">The store.</param>
    /// <returns><see cref="StoreContractBase.UserA"/>'s jobs as stored.</returns>
    protected async Task<List<GenerationJob>> SeedFeedAsync(IMediaStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        var mine = new List<GenerationJob>();
        for (var i = 0; i < 23; i++)
        {
            var type = i % 2 == 0 ? PlainType : ColumnsType;

            // Pairs of jobs share a creation time (across both types), so ordering and the cursor must use the id too.
            var createdAt = i < 8 ? BaseTime.AddSeconds(i / 2) : BaseTime.AddSeconds(i).AddTicks(i * 10);
            var tags = new List<string> { type.Name, i % 3 == 0 ? "glitch" : "glitch-extra" };
            if (i % 5 == 0)
            {
                tags.Add(SqlInjection);
            }

            if (i % 7 == 0)
            {
                tags.Add("ünïcødé-🐉");
            }

            var job = NewJob(type, createdAt, UserA, tags) with
            {
                Columns = type == ColumnsType ? new Dictionary<string, string?> { ["mood"] = "mood" + SqlInjection } : new Dictionary<string, string?>(),
            };
            mine.Add(await InsertAsync(store, job));
        }

        for (var i = 0; i < 3; i++)
        {
            mine.Add(await InsertAsync(store, NewJob(CatalogType, BaseTime.AddSeconds(i * 7).AddTicks(50), UserA, ["catalog", "glitch"])));
        }

        for (var i = 0; i < 10; i++)
        {
            var type = ContractTypes[i % 3];
            await InsertAsync(store, NewJob(type, BaseTime.AddSeconds(i * 2), UserB, ["glitch", SqlInjection, "ünïcødé-🐉"]));
        }

        return mine;
    }
}
