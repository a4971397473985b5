using System.Collections.Concurrent;
using Stefna.Sdk.Storage;
using Stefna.TestUtils;

namespace Stefna.Sdk.Postgres.Tests;

public sealed class QueueTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private static readonly GenerationError Transient = new(GenerationErrorCategory.ProviderUnavailable, "provider_unavailable", "try later");

    private async Task<(PostgresMediaStore Store, Generators.GenerationTypeDefinition Type)> NewStoreAsync(params string[] extraColumns)
    {
        var type = TestTypes.Unique("q", extraColumns: extraColumns);
        var store = new PostgresMediaStore(database.CreateDataSource());
        await store.InitializeAsync([type], CancellationToken.None);
        return (store, type);
    }

    [Fact]
    public async Task Insert_and_get_round_trip_every_field_and_reads_are_user_scoped()
    {
        var (store, type) = await NewStoreAsync("emotion");
        await using var _ = store;
        var job = TestTypes.Job(type, tags: ["alpha", "beta"]) with
        {
            SourceImageUrl = "file:///src.png",
            Columns = new Dictionary<string, string?> { ["emotion"] = "joy" },
            Meta = new Dictionary<string, string> { ["style"] = "base", ["n"] = "1" },
            IdempotencyKey = "key-1",
        };

        var inserted = await store.InsertAsync(job, CancellationToken.None);
        var read = await store.GetAsync(type.Name, job.Id, job.UserId, CancellationToken.None);

        Assert.True(inserted.Created);
        Assert.NotNull(read);
        Assert.Equal(GenerationStatus.Queued, read.Status);
        Assert.Equal(type.Name, read.Type);
        Assert.Equal(["alpha", "beta"], read.Tags);
        Assert.Equal("base", read.Meta["style"]);
        Assert.Equal("joy", read.GetColumn("emotion"));
        Assert.Equal("file:///src.png", read.SourceImageUrl);
        Assert.Equal("key-1", read.IdempotencyKey);
        Assert.Equal(0, read.Attempts);
        Assert.Null(read.LeaseUntil);
        Assert.True(Math.Abs((read.CreatedAt - job.CreatedAt).TotalMilliseconds) < 1);
        Assert.Null(await store.GetAsync(type.Name, job.Id, "someone-else", CancellationToken.None));
    }

    [Fact]
    public async Task Insert_with_a_used_idempotency_key_returns_the_existing_job_even_under_concurrency()
    {
        var (store, type) = await NewStoreAsync();
        await using var _ = store;
        var results = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => Task.Run(() =>
            store.InsertAsync(TestTypes.Job(type, idempotencyKey: "same"), CancellationToken.None))));

        Assert.Single(results, r => r.Created);
        Assert.Single(results.Select(r => r.Job.Id).Distinct());
        var found = await store.FindByIdempotencyKeyAsync(type.Name, "user-1", "same", CancellationToken.None);
        Assert.Equal(results[0].Job.Id, found!.Id);

        // The key is per user: another user may use it.
        Assert.True((await store.InsertAsync(TestTypes.Job(type, user: "user-2", idempotencyKey: "same"), CancellationToken.None)).Created);
    }

    [Fact]
    public async Task Claim_takes_the_oldest_job_sets_processing_attempt_and_lease()
    {
        var (store, type) = await NewStoreAsync();
        await using var _ = store;
        var now = DateTimeOffset.UtcNow;
        var newer = TestTypes.Job(type, createdAt: now);
        var older = TestTypes.Job(type, createdAt: now.AddMinutes(-5));
        await store.InsertAsync(newer, CancellationToken.None);
        await store.InsertAsync(older, CancellationToken.None);

        var lease = await store.ClaimAsync(type.Name, 1, TimeSpan.FromMinutes(1), 3, CancellationToken.None).FirstLeaseAsync();

        Assert.NotNull(lease);
        Assert.Equal(older.Id, lease.Id);
        Assert.Equal(GenerationStatus.Processing, lease.Job.Status);
        Assert.Equal(1, lease.Attempt);
        var dbNow = await TestTypes.ScalarAsync<DateTime>(database.ConnectionString, "SELECT now()");
        Assert.InRange(lease.Job.LeaseUntil!.Value.UtcDateTime, dbNow.AddSeconds(40), dbNow.AddSeconds(80));
        Assert.Equal(newer.Id, (await store.ClaimAsync(type.Name, 1, TimeSpan.FromMinutes(1), 3, CancellationToken.None).FirstLeaseAsync())!.Id);
        Assert.Null(await store.ClaimAsync(type.Name, 1, TimeSpan.FromMinutes(1), 3, CancellationToken.None).FirstLeaseAsync());
        Assert.Equal(2, await store.CountUnfinishedAsync(type.Name, CancellationToken.None));
    }

    [Fact]
    public async Task Concurrent_claimers_each_get_distinct_jobs_and_every_job_is_claimed_once()
    {
        var (store, type) = await NewStoreAsync();
        await using var _ = store;
        const int jobs = 150;
        await Parallel.ForEachAsync(Enumerable.Range(0, jobs), new ParallelOptions { MaxDegreeOfParallelism = 6 }, async (_, ct) =>
            await store.InsertAsync(TestTypes.Job(type), ct));

        var claimed = new ConcurrentBag<Guid>();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (await store.ClaimAsync(type.Name, 1, TimeSpan.FromMinutes(5), 3, CancellationToken.None).FirstLeaseAsync() is { } lease)
            {
                claimed.Add(lease.Id);
            }
        })));

        Assert.Equal(jobs, claimed.Count);
        Assert.Equal(jobs, claimed.Distinct().Count());
    }

    [Fact]
    public async Task An_expired_lease_is_reclaimed_and_every_write_of_the_old_lease_is_refused()
    {
        var (store, type) = await NewStoreAsync();
        await using var _ = store;
        var job = TestTypes.Job(type);
        await store.InsertAsync(job, CancellationToken.None);
        var first = (await store.ClaimAsync(type.Name, 1, TimeSpan.FromMilliseconds(300), 3, CancellationToken.None).FirstLeaseAsync())!;

        JobLease? second = null;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (second is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
            second = await store.ClaimAsync(type.Name, 1, TimeSpan.FromMinutes(1), 3, CancellationToken.None).FirstLeaseAsync();
        }

        Assert.NotNull(second);
        Assert.Equal(job.Id, second.Id);
        Assert.Equal(2, second.Attempt);
        Assert.False(await store.RenewLeasesAsync(first.Type, [first], TimeSpan.FromMinutes(1), CancellationToken.None).HeldAsync());
        Assert.False(await store.SetProviderJobIdAsync(first, "p-1", CancellationToken.None));
        Assert.False(await store.CompleteAsync(first, new JobResult("file:///old.png", new Dictionary<string, string>()), CancellationToken.None));
        Assert.False(await store.RequeueAsync(first, Transient, DateTimeOffset.UtcNow, CancellationToken.None));
        Assert.False(await store.FailAsync(first, Transient, CancellationToken.None));

        Assert.True(await store.RenewLeasesAsync(second.Type, [second], TimeSpan.FromMinutes(1), CancellationToken.None).HeldAsync());
        Assert.True(await store.SetProviderJobIdAsync(second, "p-2", CancellationToken.None));
        Assert.True(await store.CompleteAsync(second, new JobResult("file:///new.png", new Dictionary<string, string> { ["asset_id"] = "a" }), CancellationToken.None));
        var done = (await store.GetAsync(type.Name, job.Id, job.UserId, CancellationToken.None))!;
        Assert.Equal(GenerationStatus.Completed, done.Status);
        Assert.Equal("file:///new.png", done.ImageUrl);
        Assert.Equal("p-2", done.ProviderJobId);
        Assert.Equal("v", done.Meta["k"]);
        Assert.Equal("a", done.Meta["asset_id"]);
        Assert.Null(done.LeaseUntil);
        Assert.False(await store.CompleteAsync(second, new JobResult("file:///again.png", new Dictionary<string, string>()), CancellationToken.None));
    }

    [Fact]
    public async Task Requeue_keeps_the_error_and_holds_the_job_back_until_not_before()
    {
        // On the database clock: held back (not_before 10 min ahead: no scheduling delay reaches that margin).
        var (store, type) = await NewStoreAsync();
        await using var _ = store;
        var job = TestTypes.Job(type);
        await store.InsertAsync(job, CancellationToken.None);
        var lease = (await store.ClaimAsync(type.Name, 1, TimeSpan.FromMinutes(1), 3, CancellationToken.None).FirstLeaseAsync())!;

        Assert.True(await store.RequeueAsync(lease, Transient, DateTimeOffset.UtcNow.AddMinutes(10), CancellationToken.None));
        var queued = (await store.GetAsync(type.Name, job.Id, job.UserId, CancellationToken.None))!;
        Assert.Equal(GenerationStatus.Queued, queued.Status);
        Assert.Equal(GenerationErrorCategory.ProviderUnavailable, queued.Error!.Category);
        Assert.Equal("try later", queued.Error.Message);
        Assert.NotNull(queued.LeaseUntil);
        Assert.Null(await store.ClaimAsync(type.Name, 1, TimeSpan.FromMinutes(1), 3, CancellationToken.None).FirstLeaseAsync());
    }

    [Fact]
    public async Task A_requeued_job_is_released_exactly_at_not_before_and_keeps_counting_attempts()
    {
        // On a manual clock (host clock mode), so "until not_before" is checked at the instant, not after a real wait.
        var type = TestTypes.Unique("requeue");
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var store = new PostgresMediaStore(Microsoft.Extensions.Options.Options.Create(new PostgresStoreOptions { ConnectionString = database.ConnectionString, UseDatabaseClock = false }), clock);
        await store.InitializeAsync([type], CancellationToken.None);
        var job = TestTypes.Job(type, createdAt: clock.GetUtcNow());
        await store.InsertAsync(job, CancellationToken.None);
        var lease = (await store.ClaimAsync(type.Name, 1, TimeSpan.FromMinutes(1), 3, CancellationToken.None).FirstLeaseAsync())!;

        Assert.True(await store.RequeueAsync(lease, Transient, clock.GetUtcNow().AddSeconds(90), CancellationToken.None));
        Assert.Null(await store.ClaimAsync(type.Name, 1, TimeSpan.FromMinutes(1), 3, CancellationToken.None).FirstLeaseAsync());
        clock.Advance(TimeSpan.FromSeconds(89));
        Assert.Null(await store.ClaimAsync(type.Name, 1, TimeSpan.FromMinutes(1), 3, CancellationToken.None).FirstLeaseAsync());
        clock.Advance(TimeSpan.FromSeconds(2));
        var again = await store.ClaimAsync(type.Name, 1, TimeSpan.FromMinutes(1), 3, CancellationToken.None).FirstLeaseAsync();

        Assert.NotNull(again);
        Assert.Equal(2, again.Attempt);
        Assert.True(await store.FailAsync(again, new GenerationError(GenerationErrorCategory.ContentRejected, "content_rejected", "no"), CancellationToken.None));
        var failed = (await store.GetAsync(type.Name, job.Id, job.UserId, CancellationToken.None))!;
        Assert.Equal(GenerationStatus.Failed, failed.Status);
        Assert.Equal("content_rejected", failed.Error!.Code);
        Assert.Equal(0, await store.CountUnfinishedAsync(type.Name, CancellationToken.None));
    }

    [Fact]
    public async Task Cancel_applies_only_to_unfinished_jobs_of_the_user_and_voids_the_lease()
    {
        var (store, type) = await NewStoreAsync();
        await using var _ = store;
        var running = TestTypes.Job(type);
        var finished = TestTypes.Job(type);
        await store.InsertAsync(running, CancellationToken.None);
        await store.InsertAsync(finished, CancellationToken.None);
        var leaseRunning = (await store.ClaimAsync(type.Name, 1, TimeSpan.FromMinutes(1), 3, CancellationToken.None).FirstLeaseAsync())!;
        var leaseFinished = (await store.ClaimAsync(type.Name, 1, TimeSpan.FromMinutes(1), 3, CancellationToken.None).FirstLeaseAsync())!;
        await store.CompleteAsync(leaseFinished, new JobResult("file:///x.png", new Dictionary<string, string>()), CancellationToken.None);

        Assert.Null(await store.CancelAsync(type.Name, leaseRunning.Id, "intruder", CancellationToken.None));
        var canceled = await store.CancelAsync(type.Name, leaseRunning.Id, "user-1", CancellationToken.None);
        var unchanged = await store.CancelAsync(type.Name, leaseFinished.Id, "user-1", CancellationToken.None);

        Assert.Equal(GenerationStatus.Canceled, canceled!.Status);
        Assert.Equal(GenerationStatus.Completed, unchanged!.Status);
        Assert.False(await store.CompleteAsync(leaseRunning, new JobResult("file:///late.png", new Dictionary<string, string>()), CancellationToken.None));
        Assert.Null(await store.ClaimAsync(type.Name, 1, TimeSpan.FromMinutes(1), 3, CancellationToken.None).FirstLeaseAsync());
    }

    [Fact]
    public async Task Host_clock_mode_uses_the_time_provider_for_leases()
    {
        var type = TestTypes.Unique("clock");
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var store = new PostgresMediaStore(Microsoft.Extensions.Options.Options.Create(new PostgresStoreOptions { ConnectionString = database.ConnectionString, UseDatabaseClock = false }), clock);
        await store.InitializeAsync([type], CancellationToken.None);
        await store.InsertAsync(TestTypes.Job(type, createdAt: clock.GetUtcNow()), CancellationToken.None);
        var lease = (await store.ClaimAsync(type.Name, 1, TimeSpan.FromMinutes(10), 3, CancellationToken.None).FirstLeaseAsync())!;

        var expected = clock.GetUtcNow().AddMinutes(10).ToUnixTimeMilliseconds();
        Assert.InRange(lease.Job.LeaseUntil!.Value.ToUnixTimeMilliseconds(), expected - 2, expected + 2);
        Assert.Null(await store.ClaimAsync(type.Name, 1, TimeSpan.FromMinutes(10), 3, CancellationToken.None).FirstLeaseAsync());
        clock.Advance(TimeSpan.FromMinutes(11));
        Assert.Equal(2, (await store.ClaimAsync(type.Name, 1, TimeSpan.FromMinutes(10), 3, CancellationToken.None).FirstLeaseAsync())!.Attempt);
    }

    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
