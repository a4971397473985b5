using System.Collections.Concurrent;
using Stefna.Sdk.Storage;
using Xunit;

namespace Stefna.Sdk.Testing;

// Facts on the queue: claims, leases and the lease-guarded writes of a worker.
public abstract partial class MediaStoreContractTests
{
    /// <summary>Claims return the oldest job first, mark it processing with attempt 1 and a lease, and stop when the
    /// queue is empty.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Claim_takes_the_oldest_job_first()
    {
        var store = await NewStoreAsync();
        Assert.Null(await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts));

        // Inserted out of order; an older job of another type must not be taken.
        var offsets = new[] { 2, 0, 3, 1 };
        var jobs = new List<GenerationJob>();
        foreach (var offset in offsets)
        {
            jobs.Add(await InsertAsync(store, NewJob(PlainType, BaseTime.AddMinutes(offset))));
        }

        await InsertAsync(store, NewJob(ColumnsType, BaseTime.AddDays(-1)));

        foreach (var expected in jobs.OrderBy(j => j.CreatedAt))
        {
            var before = DateTimeOffset.UtcNow;
            var lease = await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts);
            var after = DateTimeOffset.UtcNow;

            Assert.NotNull(lease);
            Assert.Equal(expected.Id, lease.Id);
            Assert.Equal(PlainType.Name, lease.Type);
            Assert.Equal(1, lease.Attempt);
            Assert.Equal(GenerationStatus.Processing, lease.Job.Status);
            Assert.NotNull(lease.Job.LeaseUntil);
            Assert.InRange(lease.Job.LeaseUntil.Value, before + LongLease - TimeSpan.FromSeconds(1), after + LongLease + TimeSpan.FromSeconds(1));

            var stored = await GetRequiredAsync(store, PlainType, expected.Id);
            Assert.Equal(GenerationStatus.Processing, stored.Status);
            Assert.Equal(1, stored.Attempts);
        }

        Assert.Null(await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts));
        Assert.Equal(jobs.Count, await store.CountUnfinishedAsync(PlainType.Name, Ct));
    }

    /// <summary>One batch claim takes up to its limit of the oldest claimable jobs, oldest first, each processing with
    /// attempt 1; the next takes what is left, and a batch shorter than its limit means the queue had no more.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Batch_claim_takes_up_to_its_limit_oldest_first()
    {
        var store = await NewStoreAsync();
        Assert.Empty(await store.ClaimAsync(PlainType.Name, 10, LongLease, MaxAttempts, Ct));
        var jobs = new List<GenerationJob>();
        foreach (var offset in new[] { 4, 1, 3, 0, 2 })
        {
            jobs.Add(await InsertAsync(store, NewJob(PlainType, BaseTime.AddMinutes(offset))));
        }

        await InsertAsync(store, NewJob(ColumnsType, BaseTime.AddDays(-1)));
        var oldestFirst = jobs.OrderBy(j => j.CreatedAt).Select(j => j.Id).ToList();

        var first = await store.ClaimAsync(PlainType.Name, 3, LongLease, MaxAttempts, Ct);
        Assert.Equal(oldestFirst.Take(3), first.Select(l => l.Id));
        Assert.All(first, l => Assert.Equal((PlainType.Name, 1, GenerationStatus.Processing), (l.Type, l.Attempt, l.Job.Status)));
        Assert.All(first, l => Assert.NotNull(l.Job.LeaseUntil));

        var rest = await store.ClaimAsync(PlainType.Name, 10, LongLease, MaxAttempts, Ct);
        Assert.Equal(oldestFirst.Skip(3), rest.Select(l => l.Id));
        Assert.Empty(await store.ClaimAsync(PlainType.Name, 10, LongLease, MaxAttempts, Ct));
        foreach (var id in oldestFirst)
        {
            var stored = await GetRequiredAsync(store, PlainType, id);
            Assert.Equal((GenerationStatus.Processing, 1), (stored.Status, stored.Attempts));
        }
    }

    /// <summary>Eight claimers racing over 200 jobs in batches of seven claim every job exactly once.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Concurrent_batch_claimers_claim_every_job_exactly_once() => await RaceClaimersAsync(batchSize: 7);

    /// <summary>One batch renewal extends every lease still held and reports exactly the lost ones: a job its user
    /// canceled and a lease of another attempt. The lost rows are left as they were.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Batch_renewal_extends_held_leases_and_reports_exactly_the_lost_ones()
    {
        var store = await NewStoreAsync();
        for (var i = 0; i < 3; i++)
        {
            await InsertAsync(store, NewJob(PlainType, BaseTime.AddMinutes(i)));
        }

        var leases = await store.ClaimAsync(PlainType.Name, 3, TimeSpan.FromMinutes(1), MaxAttempts, Ct);
        Assert.Equal(3, leases.Count);
        var (held, canceled, other) = (leases[0], leases[1], leases[2]);
        await store.CancelAsync(PlainType.Name, canceled.Id, canceled.Job.UserId, Ct);
        var stale = new JobLease(other.Job with { Attempts = other.Attempt + 1 });
        var canceledBefore = await GetRequiredAsync(store, PlainType, canceled.Id);
        var otherBefore = await GetRequiredAsync(store, PlainType, other.Id);

        var lost = await store.RenewLeasesAsync(PlainType.Name, [held, canceled, stale], TimeSpan.FromHours(2), Ct);

        Assert.Equal(new[] { canceled.Id, stale.Id }.Order(), lost.Select(l => l.Id).Order());
        Assert.Contains(lost, l => ReferenceEquals(l, stale));
        var renewed = await GetRequiredAsync(store, PlainType, held.Id);
        Assert.True(renewed.LeaseUntil > DateTimeOffset.UtcNow + TimeSpan.FromHours(1), "The held lease should run about two hours from now.");
        Assert.Equal(canceledBefore.LeaseUntil, (await GetRequiredAsync(store, PlainType, canceled.Id)).LeaseUntil);
        Assert.Equal(GenerationStatus.Canceled, (await GetRequiredAsync(store, PlainType, canceled.Id)).Status);
        Assert.Equal(otherBefore.LeaseUntil, (await GetRequiredAsync(store, PlainType, other.Id)).LeaseUntil);
        Assert.Empty(await store.RenewLeasesAsync(PlainType.Name, [], LongLease, Ct));
    }

    /// <summary>One batch completion completes every job whose lease still holds, each with its own image and merged
    /// metadata, and reports exactly the lost ones (canceled, another attempt), which it leaves as they were.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Batch_completion_completes_held_jobs_and_reports_exactly_the_lost_ones()
    {
        var store = await NewStoreAsync();
        for (var i = 0; i < 4; i++)
        {
            await InsertAsync(store, NewJob(PlainType, BaseTime.AddMinutes(i)) with { Meta = new Dictionary<string, string> { ["kept"] = "k" + i } });
        }

        var leases = await store.ClaimAsync(PlainType.Name, 4, LongLease, MaxAttempts, Ct);
        Assert.Equal(4, leases.Count);
        await store.CancelAsync(PlainType.Name, leases[2].Id, leases[2].Job.UserId, Ct);
        var stale = new JobLease(leases[3].Job with { Attempts = leases[3].Attempt + 1 });
        JobCompletion Completion(JobLease lease, int i) =>
            new(lease, new JobResult($"file:///{i}.png", new Dictionary<string, string> { ["asset_id"] = "a" + i }));

        var lost = await store.CompleteManyAsync(PlainType.Name, [Completion(leases[0], 0), Completion(leases[1], 1), Completion(leases[2], 2), Completion(stale, 3)], Ct);

        Assert.Equal(new[] { leases[2].Id, stale.Id }.Order(), lost.Select(l => l.Id).Order());
        for (var i = 0; i < 2; i++)
        {
            var done = await GetRequiredAsync(store, PlainType, leases[i].Id);
            Assert.Equal((GenerationStatus.Completed, $"file:///{i}.png", (DateTimeOffset?)null), (done.Status, done.ImageUrl, done.LeaseUntil));
            Assert.Equal("k" + i, done.Meta["kept"]);
            Assert.Equal("a" + i, done.Meta["asset_id"]);
        }

        Assert.Equal(GenerationStatus.Canceled, (await GetRequiredAsync(store, PlainType, leases[2].Id)).Status);
        var untouched = await GetRequiredAsync(store, PlainType, leases[3].Id);
        Assert.Equal((GenerationStatus.Processing, (string?)null), (untouched.Status, untouched.ImageUrl));
        Assert.Empty(await store.CompleteManyAsync(PlainType.Name, [], Ct));
    }

    /// <summary>A job whose lease still holds is not claimed again.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Claimed_job_is_not_claimed_again_while_its_lease_holds()
    {
        var store = await NewStoreAsync();
        var job = await InsertAsync(store, NewJob(PlainType, BaseTime));

        Assert.Equal(job.Id, (await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts))?.Id);

        Assert.Null(await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts));
        Assert.Equal(1, (await GetRequiredAsync(store, PlainType, job.Id)).Attempts);
    }

    /// <summary>Eight claimers racing over 200 jobs claim every job exactly once.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Concurrent_claimers_claim_every_job_exactly_once() => await RaceClaimersAsync(batchSize: 1);

    // Eight claimers released at once over 200 jobs, each claiming batches of batchSize until the queue is empty:
    // every job is claimed exactly once, on its first attempt, and nothing is left.
    private async Task RaceClaimersAsync(int batchSize)
    {
        const int JobCount = 200;
        const int Claimers = 8;
        var store = await NewStoreAsync();
        var inserted = new HashSet<Guid>();
        for (var i = 0; i < JobCount; i++)
        {
            inserted.Add((await InsertAsync(store, NewJob(PlainType, BaseTime.AddMilliseconds(i)))).Id);
        }

        var claims = new ConcurrentBag<JobLease>();
        using var start = new ManualResetEventSlim(false);
        var claimers = Enumerable.Range(0, Claimers).Select(_ => Task.Run(async () =>
        {
            start.Wait(Ct);
            while (await store.ClaimAsync(PlainType.Name, batchSize, LongLease, MaxAttempts, Ct) is { Count: > 0 } batch)
            {
                Assert.InRange(batch.Count, 1, batchSize);
                foreach (var lease in batch)
                {
                    claims.Add(lease);
                }
            }
        })).ToList();
        start.Set();
        await Task.WhenAll(claimers);

        var ids = claims.Select(c => c.Id).ToList();
        Assert.Equal(JobCount, ids.Count);
        Assert.Equal(JobCount, ids.Distinct().Count());
        Assert.True(inserted.SetEquals(ids), "Every inserted job must be claimed exactly once.");
        Assert.All(claims, c => Assert.Equal(1, c.Attempt));
        Assert.Null(await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts));
    }

    /// <summary>A processing job whose lease expired on its last allowed attempt (its worker stopped every time) is
    /// failed with <see cref="GenerationError.LeaseExpiredCode"/> instead of being claimed again; the same claim call
    /// goes on to the next job, and the lost attempt's lease can no longer write.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task A_job_whose_lease_expired_on_its_last_attempt_is_failed_not_claimed_again()
    {
        const int maxAttempts = 2;
        var store = await NewStoreAsync();
        var crashing = await InsertAsync(store, NewJob(PlainType, BaseTime));
        var next = await InsertAsync(store, NewJob(PlainType, BaseTime.AddSeconds(1)));

        // Two claims, each abandoned until its lease expires, as by a worker that crashes on this job every time.
        var first = await ClaimOneAsync(store, PlainType.Name, TimeSpan.FromSeconds(1), maxAttempts);
        Assert.Equal((crashing.Id, 1), (first?.Id, first?.Attempt));
        await Task.Delay(TimeSpan.FromMilliseconds(1500), Ct);
        var last = await ClaimOneAsync(store, PlainType.Name, TimeSpan.FromSeconds(1), maxAttempts);
        Assert.Equal((crashing.Id, 2), (last?.Id, last?.Attempt));
        await Task.Delay(TimeSpan.FromMilliseconds(1500), Ct);

        var claimed = await ClaimOneAsync(store, PlainType.Name, LongLease, maxAttempts);

        Assert.Equal((next.Id, 1), (claimed?.Id, claimed?.Attempt));

        // The store hands the failed job over once, so the worker can delete what its attempts stored.
        var handed = Assert.Single(store.TakeExhaustedJobs());
        Assert.Equal((crashing.Id, PlainType.Name, 2, GenerationStatus.Failed), (handed.Id, handed.Type, handed.Attempts, handed.Status));
        Assert.Empty(store.TakeExhaustedJobs());

        var failed = await GetRequiredAsync(store, PlainType, crashing.Id);
        Assert.Equal(GenerationStatus.Failed, failed.Status);
        Assert.Equal(2, failed.Attempts);
        Assert.Null(failed.LeaseUntil);
        Assert.NotNull(failed.Error);
        Assert.Equal(GenerationErrorCategory.Timeout, failed.Error.Category);
        Assert.Equal(GenerationError.LeaseExpiredCode, failed.Error.Code);
        Assert.Equal(GenerationError.LeaseExpired(maxAttempts).Message, failed.Error.Message);
        Assert.Contains("2 attempt", failed.Error.Message, StringComparison.Ordinal);
        Assert.Null(await ClaimOneAsync(store, PlainType.Name, LongLease, maxAttempts));
        Assert.False(await store.CompleteAsync(last!, new JobResult("file:///late.png", new Dictionary<string, string>()), Ct));
        Assert.Equal(GenerationStatus.Failed, (await GetRequiredAsync(store, PlainType, crashing.Id)).Status);
        Assert.Equal(1, await store.CountUnfinishedAsync(PlainType.Name, Ct)); // only the job claimed after it
    }

    /// <summary>A processing job whose lease expired is claimed again with the next attempt number, and the writes of
    /// the expired lease then fail and change nothing.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Expired_lease_is_claimed_again_and_the_old_lease_can_no_longer_write()
    {
        var store = await NewStoreAsync();
        var job = await InsertAsync(store, NewJob(PlainType, BaseTime));
        var first = await ClaimOneAsync(store, PlainType.Name, TimeSpan.FromSeconds(1), MaxAttempts);
        Assert.NotNull(first);

        await Task.Delay(TimeSpan.FromMilliseconds(1500), Ct);
        var second = await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts);

        Assert.NotNull(second);
        Assert.Equal(job.Id, second.Id);
        Assert.Equal(2, second.Attempt);
        Assert.Equal(GenerationStatus.Processing, second.Job.Status);

        var error = new GenerationError(GenerationErrorCategory.ProviderUnavailable, "provider_unavailable", "stale");
        Assert.False(await RenewOneAsync(store, first, LongLease));
        Assert.False(await store.SetProviderJobIdAsync(first, "stale-provider-job", Ct));
        Assert.False(await store.CompleteAsync(first, new JobResult("file:///stale.png", new Dictionary<string, string> { ["stale"] = "yes" }), Ct));
        Assert.False(await store.RequeueAsync(first, error, DateTimeOffset.UtcNow, Ct));
        Assert.False(await store.FailAsync(first, error, Ct));

        var stored = await GetRequiredAsync(store, PlainType, job.Id);
        Assert.Equal(GenerationStatus.Processing, stored.Status);
        Assert.Equal(2, stored.Attempts);
        Assert.Null(stored.ImageUrl);
        Assert.Null(stored.ProviderJobId);
        Assert.Null(stored.Error);
        Assert.False(stored.Meta.ContainsKey("stale"));
        Assert.Equal(second.Job.LeaseUntil, stored.LeaseUntil);

        // The current lease still works.
        Assert.True(await store.CompleteAsync(second, new JobResult("file:///fresh.png", new Dictionary<string, string>()), Ct));
        Assert.Equal("file:///fresh.png", (await GetRequiredAsync(store, PlainType, job.Id)).ImageUrl);
    }

    /// <summary>Writes with a lease of another attempt, or for a job no longer processing, return false and change nothing.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Writes_with_a_stale_lease_return_false_and_change_nothing()
    {
        var store = await NewStoreAsync();
        var job = await InsertAsync(store, NewJob(PlainType, BaseTime));
        var lease = await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts);
        Assert.NotNull(lease);
        var before = await GetRequiredAsync(store, PlainType, job.Id);

        var error = new GenerationError(GenerationErrorCategory.Timeout, "timeout", "stale");
        foreach (var stale in new[] { new JobLease(lease.Job with { Attempts = 0 }), new JobLease(lease.Job with { Attempts = 2 }) })
        {
            Assert.False(await RenewOneAsync(store, stale, TimeSpan.FromHours(1)));
            Assert.False(await store.SetProviderJobIdAsync(stale, "stale", Ct));
            Assert.False(await store.CompleteAsync(stale, new JobResult("file:///stale.png", new Dictionary<string, string>()), Ct));
            Assert.False(await store.RequeueAsync(stale, error, DateTimeOffset.UtcNow, Ct));
            Assert.False(await store.ReleaseAsync(stale, Ct));
            Assert.False(await store.FailAsync(stale, error, Ct));
        }

        var after = await GetRequiredAsync(store, PlainType, job.Id);
        Assert.Equal(before.Status, after.Status);
        Assert.Equal(before.Attempts, after.Attempts);
        Assert.Equal(before.LeaseUntil, after.LeaseUntil);
        Assert.Null(after.ImageUrl);
        Assert.Null(after.ProviderJobId);
        Assert.Null(after.Error);

        // Once the job is finished, even its own lease can no longer write.
        Assert.True(await store.FailAsync(lease, error, Ct));
        Assert.False(await store.CompleteAsync(lease, new JobResult("file:///late.png", new Dictionary<string, string>()), Ct));
        Assert.False(await store.RequeueAsync(lease, error, DateTimeOffset.UtcNow, Ct));
        Assert.False(await store.ReleaseAsync(lease, Ct));
        Assert.False(await RenewOneAsync(store, lease, LongLease));
        var failed = await GetRequiredAsync(store, PlainType, job.Id);
        Assert.Equal(GenerationStatus.Failed, failed.Status);
        Assert.Null(failed.ImageUrl);
    }

    /// <summary>The current lease renews, records the provider's job id and completes; completion merges the metadata.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Current_lease_renews_records_provider_id_and_completes()
    {
        var store = await NewStoreAsync();
        var job = NewJob(ColumnsType, BaseTime) with
        {
            Meta = new Dictionary<string, string> { ["style"] = "neon", ["kept"] = "yes" },
            Columns = new Dictionary<string, string?> { ["mood"] = "calm" },
        };
        await InsertAsync(store, job);
        var lease = await ClaimOneAsync(store, ColumnsType.Name, TimeSpan.FromMinutes(1), MaxAttempts);
        Assert.NotNull(lease);

        Assert.True(await RenewOneAsync(store, lease, TimeSpan.FromHours(2)));
        var renewed = await GetRequiredAsync(store, ColumnsType, job.Id);
        Assert.True(renewed.LeaseUntil > DateTimeOffset.UtcNow + TimeSpan.FromHours(1), "The renewed lease should run about two hours from now.");

        Assert.True(await store.SetProviderJobIdAsync(lease, "provider-job-'42'", Ct));
        Assert.Equal("provider-job-'42'", (await GetRequiredAsync(store, ColumnsType, job.Id)).ProviderJobId);

        var meta = new Dictionary<string, string> { ["style"] = "replaced", ["asset_id"] = "results/a.png", ["width"] = "64" };
        Assert.True(await store.CompleteAsync(lease, new JobResult("file:///results/a.png", meta), Ct));

        var done = await GetRequiredAsync(store, ColumnsType, job.Id);
        Assert.Equal(GenerationStatus.Completed, done.Status);
        Assert.Equal("file:///results/a.png", done.ImageUrl);
        Assert.Equal("replaced", done.Meta["style"]);
        Assert.Equal("yes", done.Meta["kept"]);
        Assert.Equal("results/a.png", done.Meta["asset_id"]);
        Assert.Equal("64", done.Meta["width"]);
        Assert.Equal(4, done.Meta.Count);
        Assert.Equal("provider-job-'42'", done.ProviderJobId);
        Assert.Equal("calm", done.GetColumn("mood"));
        Assert.Equal(1, done.Attempts);
        Assert.Null(await ClaimOneAsync(store, ColumnsType.Name, LongLease, MaxAttempts));
        Assert.Equal(0, await store.CountUnfinishedAsync(ColumnsType.Name, Ct));
    }

    /// <summary>A re-claimed job carries the provider job id recorded by the attempt before, so it can resume polling.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Provider_job_id_survives_a_requeue()
    {
        var store = await NewStoreAsync();
        await InsertAsync(store, NewJob(PlainType, BaseTime));
        var first = await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts);
        Assert.NotNull(first);
        Assert.True(await store.SetProviderJobIdAsync(first, "provider-7", Ct));
        Assert.True(await store.RequeueAsync(first, new GenerationError(GenerationErrorCategory.Timeout, "timeout", "slow"), DateTimeOffset.UtcNow.AddSeconds(-1), Ct));

        var second = await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts);

        Assert.NotNull(second);
        Assert.Equal("provider-7", second.Job.ProviderJobId);
        Assert.Equal(2, second.Attempt);
    }

    /// <summary>A requeued job keeps its error, waits until its not-before time, then is claimed with the next attempt.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Requeue_keeps_the_error_and_is_not_claimable_before_not_before()
    {
        var store = await NewStoreAsync();
        var later = await InsertAsync(store, NewJob(PlainType, BaseTime));
        var lease = await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts);
        Assert.NotNull(lease);
        var error = new GenerationError(GenerationErrorCategory.ProviderUnavailable, "provider_unavailable.http_503", "The provider answered 503; 'retrying'.");
        var notBefore = UtcNowMicroseconds().AddHours(1);

        Assert.True(await store.RequeueAsync(lease, error, notBefore, Ct));

        var queued = await GetRequiredAsync(store, PlainType, later.Id);
        Assert.Equal(GenerationStatus.Queued, queued.Status);
        AssertSameError(error, queued.Error);
        // A store may carry the back-off in its own clock (PostgreSQL's now() + delay), as it does for leases: within a second.
        Assert.NotNull(queued.LeaseUntil);
        Assert.InRange(queued.LeaseUntil.Value, notBefore - TimeSpan.FromSeconds(1), notBefore + TimeSpan.FromSeconds(1));
        Assert.Equal(1, queued.Attempts);
        Assert.Null(await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts));
        Assert.Equal(1, await store.CountUnfinishedAsync(PlainType.Name, Ct));

        // A job whose back-off has passed is claimable again, with the next attempt, even though it is newer.
        var ready = await InsertAsync(store, NewJob(PlainType, BaseTime.AddMinutes(1)));
        var readyLease = await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts);
        Assert.Equal(ready.Id, readyLease?.Id);
        Assert.True(await store.RequeueAsync(readyLease!, error, UtcNowMicroseconds().AddSeconds(-1), Ct));

        var again = await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts);

        Assert.NotNull(again);
        Assert.Equal(ready.Id, again.Id);
        Assert.Equal(2, again.Attempt);
        Assert.Null(await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts));
    }

    /// <summary>A lease released by a stopping worker hands the job back queued, claimable at once, with its attempts back
    /// to the value before the claim and its last error and provider job id kept; however often it is released, the
    /// job never runs out of attempts.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Release_returns_the_attempt_and_the_job_is_claimable_at_once()
    {
        const int maxAttempts = 2;
        var store = await NewStoreAsync();
        var job = await InsertAsync(store, NewJob(PlainType, BaseTime));

        // A first attempt that failed transiently: attempts stays 1 from here on, however often the job is released.
        var failedAttempt = await ClaimOneAsync(store, PlainType.Name, LongLease, maxAttempts);
        Assert.Equal((job.Id, 1), (failedAttempt?.Id, failedAttempt?.Attempt));
        var error = new GenerationError(GenerationErrorCategory.ProviderUnavailable, "provider_unavailable.http_503", "The provider answered 503.");
        Assert.True(await store.RequeueAsync(failedAttempt!, error, UtcNowMicroseconds().AddSeconds(-1), Ct));

        // More releases than maxAttempts allows claims, as by a series of rolling restarts.
        for (var restart = 0; restart < maxAttempts + 2; restart++)
        {
            var lease = await ClaimOneAsync(store, PlainType.Name, LongLease, maxAttempts);
            Assert.Equal((job.Id, 2), (lease?.Id, lease?.Attempt));
            Assert.True(await store.SetProviderJobIdAsync(lease!, "provider-9", Ct));

            Assert.True(await store.ReleaseAsync(lease!, Ct));

            var released = await GetRequiredAsync(store, PlainType, job.Id);
            Assert.Equal(GenerationStatus.Queued, released.Status);
            Assert.Equal(1, released.Attempts);
            Assert.Null(released.LeaseUntil);
            AssertSameError(error, released.Error);
            Assert.Equal("provider-9", released.ProviderJobId);
            Assert.Equal(1, await store.CountUnfinishedAsync(PlainType.Name, Ct));

            // Released once, the lease is spent: a second release finds the job queued and changes nothing.
            Assert.False(await store.ReleaseAsync(lease!, Ct));
            Assert.Equal(1, (await GetRequiredAsync(store, PlainType, job.Id)).Attempts);
        }

        // A release from the first claim returns the job to attempts 0, as if it had never been claimed.
        var fresh = await InsertAsync(store, NewJob(ColumnsType, BaseTime));
        var only = await ClaimOneAsync(store, ColumnsType.Name, LongLease, maxAttempts);
        Assert.Equal((fresh.Id, 1), (only?.Id, only?.Attempt));
        Assert.True(await store.ReleaseAsync(only!, Ct));
        var unclaimed = await GetRequiredAsync(store, ColumnsType, fresh.Id);
        Assert.Equal((GenerationStatus.Queued, 0), (unclaimed.Status, unclaimed.Attempts));
        Assert.Null(unclaimed.Error);
        var again = await ClaimOneAsync(store, ColumnsType.Name, LongLease, maxAttempts);
        Assert.Equal((fresh.Id, 1), (again?.Id, again?.Attempt));
        Assert.True(await store.CompleteAsync(again!, new JobResult("file:///done.png", new Dictionary<string, string>()), Ct));
        Assert.Equal(GenerationStatus.Completed, (await GetRequiredAsync(store, ColumnsType, fresh.Id)).Status);
    }

    /// <summary>Releasing a lease that was lost (it expired and another worker re-claimed the job) returns false and
    /// changes nothing: only the lease holder may hand a job back.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Release_of_a_lost_lease_changes_nothing()
    {
        var store = await NewStoreAsync();
        var job = await InsertAsync(store, NewJob(PlainType, BaseTime));
        var lost = await ClaimOneAsync(store, PlainType.Name, TimeSpan.FromSeconds(1), MaxAttempts);
        Assert.NotNull(lost);
        await Task.Delay(TimeSpan.FromMilliseconds(1500), Ct);
        var current = await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts);
        Assert.Equal((job.Id, 2), (current?.Id, current?.Attempt));
        var before = await GetRequiredAsync(store, PlainType, job.Id);

        Assert.False(await store.ReleaseAsync(lost, Ct));

        var after = await GetRequiredAsync(store, PlainType, job.Id);
        Assert.Equal(GenerationStatus.Processing, after.Status);
        Assert.Equal(2, after.Attempts);
        Assert.Equal(before.LeaseUntil, after.LeaseUntil);
        Assert.Null(await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts));

        // The current holder's lease is untouched and still completes the job.
        Assert.True(await store.CompleteAsync(current!, new JobResult("file:///current.png", new Dictionary<string, string>()), Ct));
        Assert.Equal(GenerationStatus.Completed, (await GetRequiredAsync(store, PlainType, job.Id)).Status);
    }

    /// <summary>A failed job keeps its error, is never claimed again and no longer counts as unfinished.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Fail_records_the_error_for_good()
    {
        var store = await NewStoreAsync();
        var job = await InsertAsync(store, NewJob(PlainType, BaseTime));
        var lease = await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts);
        Assert.NotNull(lease);
        var error = new GenerationError(GenerationErrorCategory.ContentRejected, "content_rejected.policy", "The provider's policy refused the 'prompt'; try another.");

        Assert.True(await store.FailAsync(lease, error, Ct));

        var failed = await GetRequiredAsync(store, PlainType, job.Id);
        Assert.Equal(GenerationStatus.Failed, failed.Status);
        AssertSameError(error, failed.Error);
        Assert.Equal(1, failed.Attempts);
        Assert.Null(failed.ImageUrl);
        Assert.Null(await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts));
        Assert.Equal(0, await store.CountUnfinishedAsync(PlainType.Name, Ct));
    }

    /// <summary>Cancel stops queued and processing jobs (the worker's lease can then no longer write) and leaves a
    /// completed or failed job as it was.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Cancel_applies_to_queued_and_processing_jobs_only()
    {
        var store = await NewStoreAsync();
        var processing = await InsertAsync(store, NewJob(PlainType, BaseTime));
        var completed = await InsertAsync(store, NewJob(PlainType, BaseTime.AddMinutes(1)));
        var queued = await InsertAsync(store, NewJob(PlainType, BaseTime.AddMinutes(2)));

        var processingLease = await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts);
        var completedLease = await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts);
        Assert.Equal(processing.Id, processingLease?.Id);
        Assert.Equal(completed.Id, completedLease?.Id);
        Assert.True(await store.CompleteAsync(completedLease!, new JobResult("file:///done.png", new Dictionary<string, string>()), Ct));

        var canceledQueued = await store.CancelAsync(PlainType.Name, queued.Id, UserA, Ct);
        Assert.Equal(GenerationStatus.Canceled, canceledQueued?.Status);
        Assert.Equal(queued.Id, canceledQueued?.Id);
        Assert.Equal(GenerationStatus.Canceled, (await GetRequiredAsync(store, PlainType, queued.Id)).Status);

        var canceledProcessing = await store.CancelAsync(PlainType.Name, processing.Id, UserA, Ct);
        Assert.Equal(GenerationStatus.Canceled, canceledProcessing?.Status);
        Assert.False(await store.CompleteAsync(processingLease!, new JobResult("file:///late.png", new Dictionary<string, string>()), Ct));
        Assert.False(await RenewOneAsync(store, processingLease!, LongLease));
        var afterCancel = await GetRequiredAsync(store, PlainType, processing.Id);
        Assert.Equal(GenerationStatus.Canceled, afterCancel.Status);
        Assert.Null(afterCancel.ImageUrl);

        var stillCompleted = await store.CancelAsync(PlainType.Name, completed.Id, UserA, Ct);
        Assert.Equal(GenerationStatus.Completed, stillCompleted?.Status);
        Assert.Equal("file:///done.png", stillCompleted?.ImageUrl);
        Assert.Equal(GenerationStatus.Completed, (await GetRequiredAsync(store, PlainType, completed.Id)).Status);

        // Canceled jobs are finished: never claimed, not counted.
        Assert.Null(await ClaimOneAsync(store, PlainType.Name, TimeSpan.FromSeconds(1), MaxAttempts));
        Assert.Equal(0, await store.CountUnfinishedAsync(PlainType.Name, Ct));
    }

    /// <summary>Only queued and processing jobs of the given type count as unfinished.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Count_unfinished_counts_queued_and_processing_jobs_of_the_type()
    {
        var store = await NewStoreAsync();
        Assert.Equal(0, await store.CountUnfinishedAsync(PlainType.Name, Ct));
        for (var i = 0; i < 6; i++)
        {
            await InsertAsync(store, NewJob(PlainType, BaseTime.AddMinutes(i), i % 2 == 0 ? UserA : UserB));
        }

        await InsertAsync(store, NewJob(ColumnsType, BaseTime));
        var completing = await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts);
        var failing = await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts);
        var running = await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts);
        Assert.NotNull(running);
        Assert.True(await store.CompleteAsync(completing!, new JobResult("file:///a.png", new Dictionary<string, string>()), Ct));
        Assert.True(await store.FailAsync(failing!, new GenerationError(GenerationErrorCategory.Internal, "internal", "boom"), Ct));
        var toCancel = await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts);
        await store.CancelAsync(PlainType.Name, toCancel!.Id, toCancel.Job.UserId, Ct);

        // 6 jobs: one completed, one failed, one canceled; one processing and two queued remain.
        Assert.Equal(3, await store.CountUnfinishedAsync(PlainType.Name, Ct));
        Assert.Equal(1, await store.CountUnfinishedAsync(ColumnsType.Name, Ct));
        Assert.Equal(0, await store.CountUnfinishedAsync(CatalogType.Name, Ct));
    }

    /// <summary>The queue snapshot health checks read counts only queued jobs and names the oldest one's creation time;
    /// an empty queue has no oldest.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Queue_snapshot_counts_queued_jobs_and_names_the_oldest()
    {
        var store = await NewStoreAsync();
        Assert.Equal(new QueueSnapshot(0, null), await store.GetQueueSnapshotAsync(PlainType.Name, Ct));

        await InsertAsync(store, NewJob(PlainType, BaseTime.AddMinutes(2)));
        await InsertAsync(store, NewJob(PlainType, BaseTime));
        await InsertAsync(store, NewJob(PlainType, BaseTime.AddMinutes(1)));
        await InsertAsync(store, NewJob(ColumnsType, BaseTime.AddMinutes(-5)));
        var claimed = await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts);
        Assert.NotNull(claimed);

        var snapshot = await store.GetQueueSnapshotAsync(PlainType.Name, Ct);
        Assert.Equal(2, snapshot.Queued);
        Assert.Equal(BaseTime.AddMinutes(1), snapshot.OldestQueuedAt);
    }
}
