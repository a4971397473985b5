using System.Collections.Concurrent;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Storage;
using Stefna.TestUtils;

namespace Stefna.Sdk.Sqlite.Tests;

/// <summary>Several store instances on one file behave like several processes: they share only SQLite's file lock.</summary>
public sealed class SqliteConcurrencyTests : IDisposable
{
    private static readonly GenerationTypeDefinition Type = new("race", "race_media", "Race");
    private readonly TempDirectory _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Claimers_on_separate_store_instances_claim_each_job_once_without_lock_errors()
    {
        const int Jobs = 150;
        var path = _folder.File("shared.db");
        using var first = new SqliteMediaStore(new SqliteStoreOptions { DatabasePath = path });
        using var second = new SqliteMediaStore(new SqliteStoreOptions { DatabasePath = path });
        using var third = new SqliteMediaStore(new SqliteStoreOptions { DatabasePath = path });
        SqliteMediaStore[] stores = [first, second, third];
        foreach (var store in stores)
        {
            await store.InitializeAsync([Type], CancellationToken.None);
        }

        var start = DateTimeOffset.UtcNow.AddMinutes(-10);
        for (var i = 0; i < Jobs; i++)
        {
            await first.InsertAsync(new NewGenerationJob { Id = Guid.NewGuid(), Type = Type.Name, UserId = "u", CreatedAt = start.AddMilliseconds(i) }, CancellationToken.None);
        }

        // Each store runs three claimers that claim, then complete, as a worker does: reads and writes interleave.
        var claimed = new ConcurrentBag<Guid>();
        var workers = stores.SelectMany(store => Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            while (await store.ClaimAsync(Type.Name, 1, TimeSpan.FromMinutes(5), 3, CancellationToken.None).FirstLeaseAsync() is { } lease)
            {
                claimed.Add(lease.Id);
                Assert.True(await store.CompleteAsync(lease, new JobResult($"file:///{lease.Id}.png", new Dictionary<string, string>()), CancellationToken.None));
            }
        }))).ToList();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(Jobs, claimed.Count);
        Assert.Equal(Jobs, claimed.Distinct().Count());
        Assert.Equal(0, await second.CountUnfinishedAsync(Type.Name, CancellationToken.None));
        var feed = await third.QueryFeedAsync(new FeedQuery { UserId = "u", Types = [Type.Name], Limit = FeedQuery.MaxLimit }, CancellationToken.None);
        Assert.Equal(Jobs, feed.Items.Count);
        Assert.All(feed.Items, j => Assert.Equal(GenerationStatus.Completed, j.Status));
    }
}
