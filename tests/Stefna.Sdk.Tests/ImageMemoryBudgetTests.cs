using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Imaging;
using Stefna.TestUtils;

namespace Stefna.Sdk.Tests;

/// <summary>
/// Issue 13: every decode was capped on its own but nothing capped them together (40 small WebP bombs took the web
/// sample to 4.1 GB). The host-wide budget: work over it waits in arrival order, cancellation leaves nothing reserved,
/// one reservation larger than the whole budget is refused, and concurrent holders never hold more than the budget.
/// </summary>
public sealed class ImageMemoryBudgetTests
{
    [Fact]
    public async Task Work_over_the_budget_waits_in_arrival_order_until_memory_is_given_back()
    {
        var budget = new ImageMemoryBudget(100);
        var a = await budget.ReserveAsync(60, CancellationToken.None);
        var b = budget.ReserveAsync(50, CancellationToken.None).AsTask();
        // 10 would fit beside 60, but it arrived after 50: it does not overtake (no starvation of large work).
        var c = budget.ReserveAsync(10, CancellationToken.None).AsTask();

        Assert.False(b.IsCompleted);
        Assert.False(c.IsCompleted);
        Assert.Equal((60L, 2), (budget.ReservedBytes, budget.WaitingCount));

        a.Dispose();
        using var heldB = await b;
        using var heldC = await c;

        Assert.Equal((60L, 0), (budget.ReservedBytes, budget.WaitingCount));
    }

    [Fact]
    public async Task A_canceled_wait_reserves_nothing_and_lets_those_behind_it_through()
    {
        var budget = new ImageMemoryBudget(100);
        using var cancel = new CancellationTokenSource();
        var a = await budget.ReserveAsync(60, CancellationToken.None);
        var b = budget.ReserveAsync(50, cancel.Token).AsTask();
        var c = budget.ReserveAsync(10, CancellationToken.None).AsTask();

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => b);
        using (await c)
        {
            Assert.Equal((70L, 0), (budget.ReservedBytes, budget.WaitingCount));
        }

        a.Dispose();
        a.Dispose(); // Given back once.
        Assert.Equal(0L, budget.ReservedBytes);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => budget.ReserveAsync(1, cancel.Token).AsTask());
        Assert.Equal((0L, 0), (budget.ReservedBytes, budget.WaitingCount));
    }

    [Fact]
    public async Task One_reservation_larger_than_the_whole_budget_is_refused_with_a_clear_error()
    {
        var budget = new ImageMemoryBudget(64L << 20);

        var error = await Assert.ThrowsAsync<GenerationException>(() => budget.ReserveAsync((64L << 20) + 1, CancellationToken.None).AsTask());

        Assert.Equal(GenerationErrorCategory.InvalidRequest, error.Category);
        Assert.Equal(ImageMemoryBudget.OverBudgetCode, error.Code);
        Assert.Contains("64 MiB", error.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(StefnaOptions.ImageMemoryBudgetBytes), error.Message, StringComparison.Ordinal);
        Assert.Equal((0L, 0), (budget.ReservedBytes, budget.WaitingCount));
    }

    [Fact]
    public async Task Concurrent_holders_never_hold_more_than_the_budget()
    {
        const long capacity = 1000;
        var counted = new CountingBudget(new ImageMemoryBudget(capacity));
        var sizes = new[] { 1000, 700, 400, 300, 250, 100, 1 };

        // 32 workers, 50 reservations each, holding across a short delay so reservations overlap and queue (the
        // bound is checked by the counts whatever the timing).
        await Task.WhenAll(Enumerable.Range(0, 32).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                using var held = await counted.ReserveAsync(sizes[(worker + i) % sizes.Length], CancellationToken.None);
                await Task.Delay(1);
            }
        })));

        Assert.Equal(32 * 50, counted.Reservations);
        Assert.InRange(counted.PeakHeldBytes, 1000, capacity);
        Assert.Equal(0, counted.HeldBytes);
    }

    [Fact]
    public void AddStefna_registers_one_budget_sized_by_the_options_and_refuses_a_tiny_one_at_start()
    {
        var services = new ServiceCollection();
        services.AddStefna();
        services.Configure<StefnaOptions>(o => o.ImageMemoryBudgetBytes = 256L << 20);
        using (var provider = services.BuildServiceProvider())
        {
            var budget = provider.GetRequiredService<IImageMemoryBudget>();
            Assert.Same(budget, provider.GetRequiredService<IImageMemoryBudget>());
            Assert.Equal(256L << 20, budget.CapacityBytes);
        }

        var tiny = new ServiceCollection();
        tiny.AddStefna();
        tiny.Configure<StefnaOptions>(o => o.ImageMemoryBudgetBytes = 1024);
        using var bad = tiny.BuildServiceProvider();
        var error = Assert.Throws<OptionsValidationException>(() => bad.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains(error.Failures, f => f.Contains(nameof(StefnaOptions.ImageMemoryBudgetBytes), StringComparison.Ordinal));
    }
}
