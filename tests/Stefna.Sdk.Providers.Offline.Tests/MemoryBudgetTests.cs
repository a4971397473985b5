using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SkiaSharp;
using Stefna.Sdk.Imaging;
using Stefna.TestUtils;
using static Stefna.Sdk.Providers.Offline.Tests.OfflineTestSupport;

namespace Stefna.Sdk.Providers.Offline.Tests;

/// <summary>
/// Issue 13: forty 2 KB WebP files of 7000×7000 pixels sent at once took the web sample to 4.1 GB: each decode was
/// capped on its own (50 Mpx), none together. The offline provider reserves a render's memory from the host's budget
/// before it decodes. Proved with counts (an instrumented budget), not with RSS.
/// </summary>
public sealed class MemoryBudgetTests
{
    // A decompression bomb: 3000×3000 pixels of one colour, a few hundred bytes as lossless WebP; 36 MB decoded.
    private static readonly Lazy<byte[]> Bomb = new(() => WebP(3000, 3000));

    private static byte[] WebP(int width, int height)
    {
        using var bitmap = new SKBitmap(width, height);
        bitmap.Erase(new SKColor(40, 90, 160));
        using var pixmap = bitmap.PeekPixels();
        using var data = pixmap.Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossless, 100))!;
        return data.ToArray();
    }

    private static OfflineImageProvider Provider(IImageMemoryBudget budget) =>
        new(Options.Create(new OfflineProviderOptions()), memoryBudget: budget);

    private static long BombCost => Rendering.OfflineRenderer.MemoryCost(3000, 3000, reoriented: false, Bomb.Value.Length, new OfflineProviderOptions().MaxDimension);

    [Fact]
    public async Task Concurrent_renders_of_decompression_bombs_never_hold_more_than_the_budget()
    {
        Assert.True(Bomb.Value.Length < 16 * 1024, $"the bomb is {Bomb.Value.Length} bytes");
        // Room for one bomb at a time (two would be over): any overlap of two decodes would exceed it.
        var counted = new CountingBudget(new ImageMemoryBudget((BombCost * 3) / 2));
        var provider = Provider(counted);

        var renders = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => Task.Run(() => provider.RenderAsync(Request("neo-glitch", Bomb.Value)))));

        Assert.Equal(12, renders.Length);
        Assert.All(renders, png => Assert.Equal((1024, 1024), (Decode(png).Width, Decode(png).Height)));
        Assert.Equal(12, counted.Reservations);
        Assert.InRange(counted.PeakHeldBytes, BombCost, counted.CapacityBytes);
        Assert.Equal(0, counted.HeldBytes);
    }

    [Fact]
    public async Task A_render_waits_while_the_budget_is_full_and_runs_when_memory_is_given_back()
    {
        var budget = new ImageMemoryBudget(BombCost);
        var provider = Provider(budget);
        var other = await budget.ReserveAsync(1, CancellationToken.None);

        var render = provider.RenderAsync(Request("neo-glitch", Bomb.Value));
        while (budget.WaitingCount == 0)
        {
            Assert.False(render.IsCompleted, "the render ran past a full budget");
            await Task.Yield();
        }

        Assert.Equal(1L, budget.ReservedBytes);
        other.Dispose();
        Assert.NotEmpty(await render);
        Assert.Equal((0L, 0), (budget.ReservedBytes, budget.WaitingCount));
    }

    [Fact]
    public async Task A_canceled_render_waiting_for_memory_stops_and_reserves_nothing()
    {
        var budget = new ImageMemoryBudget(BombCost);
        var provider = Provider(budget);
        var other = await budget.ReserveAsync(BombCost, CancellationToken.None);
        using var cancel = new CancellationTokenSource();

        var render = provider.SubmitAsync(Request("neo-glitch", Bomb.Value), cancel.Token).AsTask();
        while (budget.WaitingCount == 0)
        {
            await Task.Yield();
        }

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => render);
        Assert.Equal((BombCost, 0), (budget.ReservedBytes, budget.WaitingCount));
        other.Dispose();
    }

    [Fact]
    public async Task An_image_that_alone_needs_more_than_the_whole_budget_is_refused_before_decoding()
    {
        var budget = new ImageMemoryBudget(BombCost - 1);

        var error = await Assert.ThrowsAsync<GenerationException>(() => Provider(budget).RenderAsync(Request("neo-glitch", Bomb.Value)));

        Assert.Equal(GenerationErrorCategory.InvalidRequest, error.Category);
        Assert.Equal(ImageMemoryBudget.OverBudgetCode, error.Code);
        Assert.Equal(0L, budget.ReservedBytes);
    }

    [Fact]
    public async Task UseOfflineProvider_reserves_from_the_budget_registered_for_the_host()
    {
        var counted = new CountingBudget(new ImageMemoryBudget(256L << 20));
        var services = new ServiceCollection();
        services.AddSingleton<IImageMemoryBudget>(counted);
        services.AddStefna().UseOfflineProvider();
        await using var container = services.BuildServiceProvider();

        await container.GetRequiredService<OfflineImageProvider>().RenderAsync(Request("neo-glitch", TestImages.Png(40, 30)));

        Assert.Equal(1, counted.Reservations);
    }
}
