using Stefna.Sdk.Storage;
using Stefna.TestUtils;

namespace Stefna.Sdk.Postgres.Tests;

public sealed class FeedTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task Feed_merges_type_tables_newest_first_and_keyset_pages_cover_every_job_once()
    {
        var a = TestTypes.Unique("fa", extraColumns: ["emotion"]);
        var b = TestTypes.Unique("fb");
        await using var store = new PostgresMediaStore(database.CreateDataSource());
        await store.InitializeAsync([a, b], CancellationToken.None);
        var start = DateTimeOffset.UtcNow.AddHours(-1);
        var expected = new List<(DateTimeOffset, Guid)>();
        for (var i = 0; i < 23; i++)
        {
            // Some jobs share a timestamp so the id tie-break is exercised.
            var type = i % 3 == 0 ? a : b;
            var job = TestTypes.Job(type, user: "feed-user", createdAt: start.AddSeconds(i / 2)) with
            {
                Columns = type == a ? new Dictionary<string, string?> { ["emotion"] = "joy" } : new Dictionary<string, string?>(),
            };
            await store.InsertAsync(job, CancellationToken.None);
            expected.Add((job.CreatedAt, job.Id));
        }

        await store.InsertAsync(TestTypes.Job(a, user: "other-user"), CancellationToken.None);

        var seen = new List<GenerationJob>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await store.QueryFeedAsync(new FeedQuery { UserId = "feed-user", Types = [a.Name, b.Name], Limit = 5, Cursor = cursor }, CancellationToken.None);
            seen.AddRange(page.Items);
            cursor = page.NextCursor;
            pages++;
        }
        while (cursor is not null && pages < 20);

        Assert.Equal(5, pages);
        Assert.Equal(23, seen.Count);
        Assert.Equal(23, seen.Select(j => j.Id).Distinct().Count());
        Assert.All(seen, j => Assert.Equal("feed-user", j.UserId));
        var ordered = seen.OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.Id.ToString()).Select(j => j.Id);
        Assert.Equal(ordered, seen.Select(j => j.Id));
        Assert.All(seen.Where(j => j.Type == a.Name), j => Assert.Equal("joy", j.GetColumn("emotion")));
        Assert.Contains(seen, j => j.Type == b.Name);
    }

    [Fact]
    public async Task Feed_filters_by_tag_and_status_and_type()
    {
        var a = TestTypes.Unique("ga");
        var b = TestTypes.Unique("gb");
        await using var store = new PostgresMediaStore(database.CreateDataSource());
        await store.InitializeAsync([a, b], CancellationToken.None);
        var tagged = TestTypes.Job(a, user: "u", tags: ["red", "blue"]);
        var untagged = TestTypes.Job(b, user: "u", tags: ["green"]);
        var otherType = TestTypes.Job(b, user: "u", tags: ["red"]);
        foreach (var job in new[] { tagged, untagged, otherType })
        {
            await store.InsertAsync(job, CancellationToken.None);
        }

        var lease = (await store.ClaimAsync(b.Name, 1, TimeSpan.FromMinutes(1), 3, CancellationToken.None).FirstLeaseAsync())!;
        await store.CompleteAsync(lease, new JobResult("file:///r.png", new Dictionary<string, string>()), CancellationToken.None);

        var red = await store.QueryFeedAsync(new FeedQuery { UserId = "u", Types = [a.Name, b.Name], Tag = "red" }, CancellationToken.None);
        var completed = await store.QueryFeedAsync(new FeedQuery { UserId = "u", Types = [a.Name, b.Name], Status = GenerationStatus.Completed }, CancellationToken.None);
        var onlyA = await store.QueryFeedAsync(new FeedQuery { UserId = "u", Types = [a.Name] }, CancellationToken.None);
        var nobody = await store.QueryFeedAsync(new FeedQuery { UserId = "nobody", Types = [a.Name, b.Name] }, CancellationToken.None);

        Assert.Equal(new[] { otherType.Id, tagged.Id }.Order(), red.Items.Select(j => j.Id).Order());
        Assert.Equal(lease.Id, Assert.Single(completed.Items).Id);
        Assert.Equal(tagged.Id, Assert.Single(onlyA.Items).Id);
        Assert.Empty(nobody.Items);
        Assert.Null(nobody.NextCursor);
    }
}
