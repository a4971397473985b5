using Stefna.Sdk.Generators;
using Stefna.Sdk.Storage;
using Xunit;

namespace Stefna.Sdk.Testing;

/// <summary>
/// The behaviour of a store that parks jobs (the optional role <see cref="IJobParking"/>), as xunit facts. A store that
/// implements the role derives a test class from this one, beside its <see cref="MediaStoreContractTests"/> class and
/// with the same <see cref="StoreContractBase.CreateStoreAsync"/>; every fact fails for a store without the role.
/// </summary>
/// <remarks>The facts: a parked job holds no lease, is taken only by <see cref="IJobParking.ClaimParkedAsync"/> once
/// due and without spending an attempt; a resumed job parks again under the same attempt; concurrent parked-job
/// claimers take each due job exactly once; cancel reaches a parked job; a parked job counts against a claim's limit of
/// jobs outstanding at the provider.</remarks>
public abstract class JobParkingContractTests : StoreContractBase
{
    private static readonly TimeSpan ClockSlack = TimeSpan.FromMinutes(1);

    /// <summary>Parking gives up the lease and spends no attempt: the parked job reads as processing with its provider job
    /// id, next check and deadline; no claim takes it, the old lease writes nothing, and only a parked-job claim takes it,
    /// once due, leased under the same attempt, telling when the next parked job is due.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Parked_job_holds_no_lease_and_is_taken_only_by_a_parked_claim_once_due_without_spending_an_attempt()
    {
        var (store, parking) = await NewStoreWithAsync<IJobParking>();
        var due = NewJob(PlainType, BaseTime);
        var later = NewJob(PlainType, BaseTime.AddSeconds(1));
        await InsertAsync(store, due);
        await InsertAsync(store, later);
        var leases = await store.ClaimAsync(PlainType.Name, 10, LongLease, MaxAttempts, Ct);
        Assert.Equal(2, leases.Count);
        var now = UtcNowMicroseconds();
        var deadline = now.AddHours(2);
        Assert.True(await parking.ParkAsync(leases[0], "gen-'due'", now.AddSeconds(-5), deadline, Ct));
        Assert.True(await parking.ParkAsync(leases[1], "gen-later", now.AddHours(1), deadline, Ct));

        var parked = await GetRequiredAsync(store, PlainType, due.Id);
        Assert.Equal(GenerationStatus.Processing, parked.Status);
        Assert.Null(parked.LeaseUntil);
        Assert.Equal("gen-'due'", parked.ProviderJobId);
        Assert.NotNull(parked.NextCheckAt);
        Assert.InRange(parked.NextCheckAt.Value, now.AddSeconds(-5) - ClockSlack, now.AddSeconds(-5) + ClockSlack);
        Assert.NotNull(parked.ProviderDeadline);
        Assert.Equal(deadline, parked.ProviderDeadline.Value); // kept as given (a deadline is not carried in the store's clock)
        Assert.Equal(1, parked.Attempts);
        Assert.Equal(2, await store.CountUnfinishedAsync(PlainType.Name, Ct));

        // Parked rows are not claimable, and the lease that parked them can no longer write.
        Assert.Empty(await store.ClaimAsync(PlainType.Name, 10, LongLease, MaxAttempts, Ct));
        Assert.Equal(2, (await store.RenewLeasesAsync(PlainType.Name, leases, LongLease, Ct)).Count);
        Assert.False(await store.CompleteAsync(leases[0], new JobResult("file:///x.png", new Dictionary<string, string>()), Ct));
        Assert.False(await store.FailAsync(leases[0], new GenerationError(GenerationErrorCategory.Timeout, "timeout", "x"), Ct));
        Assert.False(await parking.ParkAsync(leases[0], "gen-other", now, deadline, Ct));

        var claim = await parking.ClaimParkedAsync(PlainType.Name, 10, LongLease, Ct);
        var resumed = Assert.Single(claim.Leases);
        Assert.Equal(due.Id, resumed.Id);
        Assert.Equal(1, resumed.Attempt);
        Assert.Equal("gen-'due'", resumed.Job.ProviderJobId);
        Assert.Null(resumed.Job.NextCheckAt);
        Assert.NotNull(resumed.Job.LeaseUntil);
        Assert.NotNull(claim.NextCheckAt);
        Assert.InRange(claim.NextCheckAt.Value, now.AddHours(1) - ClockSlack, now.AddHours(1) + ClockSlack);

        // Nothing else is due; the resumed lease completes the job.
        var again = await parking.ClaimParkedAsync(PlainType.Name, 10, LongLease, Ct);
        Assert.Empty(again.Leases);
        Assert.NotNull(again.NextCheckAt);
        Assert.True(await store.CompleteAsync(resumed, new JobResult("file:///due.png", new Dictionary<string, string>()), Ct));
        var done = await GetRequiredAsync(store, PlainType, due.Id);
        Assert.Equal(GenerationStatus.Completed, done.Status);
        Assert.Equal(1, done.Attempts);
        Assert.Equal(1, await store.CountUnfinishedAsync(PlainType.Name, Ct));
    }

    /// <summary>A resumed job that is still running at the provider parks again under the same attempt.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Resumed_job_parks_again_under_the_same_attempt()
    {
        var (store, parking) = await NewStoreWithAsync<IJobParking>();
        var lease = await InsertAndClaimAsync(store, ColumnsType);
        var deadline = DateTimeOffset.UtcNow.AddHours(1);
        Assert.True(await parking.ParkAsync(lease, "gen-1", DateTimeOffset.UtcNow.AddSeconds(-1), deadline, Ct));
        var resumed = Assert.Single((await parking.ClaimParkedAsync(ColumnsType.Name, 5, LongLease, Ct)).Leases);
        Assert.True(await parking.ParkAsync(resumed, "gen-1", DateTimeOffset.UtcNow.AddSeconds(-1), deadline, Ct));
        var twice = Assert.Single((await parking.ClaimParkedAsync(ColumnsType.Name, 5, LongLease, Ct)).Leases);
        Assert.Equal(1, twice.Attempt);
        Assert.Equal("gen-1", twice.Job.ProviderJobId);
    }

    /// <summary>Concurrent parked-job takers get every due parked job exactly once.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Concurrent_parked_claimers_take_every_due_parked_job_exactly_once()
    {
        const int jobs = 24;
        var (store, parking) = await NewStoreWithAsync<IJobParking>();
        for (var i = 0; i < jobs; i++)
        {
            await InsertAsync(store, NewJob(PlainType, BaseTime.AddSeconds(i)));
        }

        var leases = await store.ClaimAsync(PlainType.Name, jobs, LongLease, MaxAttempts, Ct);
        Assert.Equal(jobs, leases.Count);
        foreach (var lease in leases)
        {
            Assert.True(await parking.ParkAsync(lease, "gen-" + lease.Id, DateTimeOffset.UtcNow.AddSeconds(-1), DateTimeOffset.UtcNow.AddHours(1), Ct));
        }

        var taken = new System.Collections.Concurrent.ConcurrentBag<Guid>();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (true)
            {
                var claim = await parking.ClaimParkedAsync(PlainType.Name, 3, LongLease, Ct);
                if (claim.Leases.Count == 0)
                {
                    return;
                }

                foreach (var lease in claim.Leases)
                {
                    taken.Add(lease.Id);
                }
            }
        })));

        Assert.Equal(jobs, taken.Count);
        Assert.Equal(jobs, taken.Distinct().Count());
    }

    /// <summary>Cancel reaches a parked job: it is canceled, and no parked-job claim takes it afterwards.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Cancel_reaches_a_parked_job()
    {
        var (store, parking) = await NewStoreWithAsync<IJobParking>();
        var lease = await InsertAndClaimAsync(store, PlainType);
        Assert.True(await parking.ParkAsync(lease, "gen-c", DateTimeOffset.UtcNow.AddSeconds(-1), DateTimeOffset.UtcNow.AddHours(1), Ct));

        var canceled = await store.CancelAsync(PlainType.Name, lease.Id, UserA, Ct);

        Assert.Equal(GenerationStatus.Canceled, canceled!.Status);
        Assert.Equal("gen-c", canceled.ProviderJobId);
        Assert.Null(canceled.NextCheckAt);
        var claim = await parking.ClaimParkedAsync(PlainType.Name, 5, LongLease, Ct);
        Assert.Empty(claim.Leases);
        Assert.Null(claim.NextCheckAt);
        Assert.Equal(0, await store.CountUnfinishedAsync(PlainType.Name, Ct));
    }

    /// <summary>A parked job still counts against a claim's limit of jobs outstanding at the provider, though it holds no
    /// lease: with the one job the limit allows parked, a claim takes nothing; once the resumed job completed, it takes
    /// the next.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Claim_with_an_outstanding_limit_counts_parked_jobs()
    {
        var (store, parking) = await NewStoreWithAsync<IJobParking>();
        var first = await InsertAndClaimAsync(store, PlainType);
        var waiting = await InsertAsync(store, NewJob(PlainType, BaseTime.AddSeconds(1)));
        Assert.True(await parking.ParkAsync(first, "gen-0", DateTimeOffset.UtcNow.AddSeconds(-1), DateTimeOffset.UtcNow.AddHours(1), Ct));

        Assert.Empty(await store.ClaimAsync(PlainType.Name, 10, LongLease, MaxAttempts, maxOutstanding: 1, Ct));

        var resumed = Assert.Single((await parking.ClaimParkedAsync(PlainType.Name, 10, LongLease, Ct)).Leases);
        Assert.True(await store.CompleteAsync(resumed, new JobResult("file:///0.png", new Dictionary<string, string>()), Ct));
        Assert.Equal(waiting.Id, Assert.Single(await store.ClaimAsync(PlainType.Name, 10, LongLease, MaxAttempts, maxOutstanding: 1, Ct)).Id);
    }

    // A new job of the type, claimed: the lease to park.
    private async Task<JobLease> InsertAndClaimAsync(IMediaStore store, GenerationTypeDefinition type)
    {
        var job = await InsertAsync(store, NewJob(type, BaseTime));
        var lease = Assert.Single(await store.ClaimAsync(type.Name, 1, LongLease, MaxAttempts, Ct));
        Assert.Equal(job.Id, lease.Id);
        return lease;
    }
}
