using System.Diagnostics;
using Stefna.Sdk.Storage;
using Xunit;

namespace Stefna.Sdk.Testing;

// Facts on the lease-guarded writes of a worker (renew, provider job id, complete, requeue, release, fail), cancel,
// and the counts the engine reads from the queue.
public abstract partial class MediaStoreContractTests
{
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

        var call = Stopwatch.StartNew();
        Assert.True(await store.RequeueAsync(lease, error, notBefore, Ct));
        call.Stop();

        var queued = await GetRequiredAsync(store, PlainType, later.Id);
        Assert.Equal(GenerationStatus.Queued, queued.Status);
        AssertSameError(error, queued.Error);
        // A store may carry the back-off in its own clock (PostgreSQL's now() + delay), as it does for leases: within a
        // second of clock difference, plus however long the call took (the store's own now() is read during the call, after
        // the host's now the delay was taken from), so a slow call on a loaded machine cannot fail the check.
        Assert.NotNull(queued.LeaseUntil);
        Assert.InRange(queued.LeaseUntil.Value, notBefore - TimeSpan.FromSeconds(1), notBefore + TimeSpan.FromSeconds(1) + call.Elapsed);
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
