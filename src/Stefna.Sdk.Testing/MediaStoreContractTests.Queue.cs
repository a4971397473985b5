using System.Collections.Concurrent;
using Stefna.Sdk.Storage;
using Xunit;

namespace Stefna.Sdk.Testing;

// Facts on the queue: claims (oldest first, in batches, under concurrency, within a limit of jobs outstanding at the
// provider), leases and their expiry.
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

    /// <summary>A claim with a limit of jobs outstanding at the provider takes only what leaves the type's processing
    /// jobs within the limit, and takes again once a job finished. (Parked jobs count too:
    /// <see cref="JobParkingContractTests.Claim_with_an_outstanding_limit_counts_parked_jobs"/>.)</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Claim_with_an_outstanding_limit_counts_running_jobs()
    {
        var store = await NewStoreAsync();
        for (var i = 0; i < 5; i++)
        {
            await InsertAsync(store, NewJob(PlainType, BaseTime.AddSeconds(i)));
        }

        var first = await store.ClaimAsync(PlainType.Name, 10, LongLease, MaxAttempts, maxOutstanding: 3, Ct);
        Assert.Equal(3, first.Count);
        Assert.Empty(await store.ClaimAsync(PlainType.Name, 10, LongLease, MaxAttempts, maxOutstanding: 3, Ct));
        Assert.True(await store.CompleteAsync(first[1], new JobResult("file:///1.png", new Dictionary<string, string>()), Ct));
        var next = await store.ClaimAsync(PlainType.Name, 10, LongLease, MaxAttempts, maxOutstanding: 3, Ct);
        Assert.Single(next);
        Assert.Single(await store.ClaimAsync(PlainType.Name, 10, LongLease, MaxAttempts, maxOutstanding: 10, Ct));
    }
}
