using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Storage;
using Stefna.TestUtils;

namespace Stefna.Sdk.Sqlite.Tests;

/// <summary>Leases, back-offs and update times follow the injected <see cref="TimeProvider"/>, not the machine clock.</summary>
public sealed class SqliteClockTests : IDisposable
{
    private static readonly GenerationTypeDefinition Type = new("clock", "clock_media", "Clock");
    private readonly TempDirectory _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Lease_expiry_and_back_off_follow_the_injected_clock()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.AddStefna().UseSqlite(_folder.File("clock.db"));
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IMediaStore>();
        await store.InitializeAsync([Type], CancellationToken.None);
        var job = new NewGenerationJob { Id = Guid.NewGuid(), Type = Type.Name, UserId = "u", CreatedAt = clock.GetUtcNow() };
        await store.InsertAsync(job, CancellationToken.None);

        var first = await store.ClaimAsync(Type.Name, 1, TimeSpan.FromMinutes(10), 3, CancellationToken.None).FirstLeaseAsync();
        Assert.Equal(clock.GetUtcNow().AddMinutes(10), first?.Job.LeaseUntil);
        clock.Advance(TimeSpan.FromMinutes(9));
        Assert.Null(await store.ClaimAsync(Type.Name, 1, TimeSpan.FromMinutes(10), 3, CancellationToken.None).FirstLeaseAsync());
        clock.Advance(TimeSpan.FromMinutes(2));
        var second = await store.ClaimAsync(Type.Name, 1, TimeSpan.FromMinutes(10), 3, CancellationToken.None).FirstLeaseAsync();
        Assert.Equal(2, second?.Attempt);
        Assert.Equal(clock.GetUtcNow(), second?.Job.UpdatedAt);

        var notBefore = clock.GetUtcNow().AddHours(1);
        Assert.True(await store.RequeueAsync(second!, new GenerationError(GenerationErrorCategory.Timeout, "timeout", "slow"), notBefore, CancellationToken.None));
        clock.Advance(TimeSpan.FromMinutes(59));
        Assert.Null(await store.ClaimAsync(Type.Name, 1, TimeSpan.FromMinutes(10), 3, CancellationToken.None).FirstLeaseAsync());
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(3, (await store.ClaimAsync(Type.Name, 1, TimeSpan.FromMinutes(10), 3, CancellationToken.None).FirstLeaseAsync())?.Attempt);
    }
}
