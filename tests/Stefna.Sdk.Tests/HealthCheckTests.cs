using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using Stefna.TestUtils;

namespace Stefna.Sdk.Tests;

/// <summary><c>AddStefnaHealthChecks()</c>: one entry per type, from the store, the circuit, the queue's oldest job and
/// the worker loop.</summary>
public class HealthCheckTests
{
    private static IHost Host(TempDirectory dir, bool runWorker, TimeProvider? time = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }

        // Health checks first: the types added after still get their entries.
        builder.Services.AddHealthChecks().AddStefnaHealthChecks(o => o.MaxQueuedAge = TimeSpan.FromMinutes(5));
        builder.Services.AddStefna(o =>
            {
                o.RunWorker = runWorker;
                o.IdlePollInterval = TimeSpan.FromMilliseconds(50);
            })
            .AddGenerator<PromptOnlyTestGenerator>(PromptOnlyTestGenerator.TypeName)
            .UseSqlite(dir.File("stefna.db"))
            .UseLocalFileStorage(dir.File("images"))
            .UseOfflineProvider();
        return builder.Build();
    }

    private static async Task<HealthReportEntry> EntryAsync(IHost host)
    {
        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        return Assert.Single(report.Entries, e => e.Key == "stefna:" + PromptOnlyTestGenerator.TypeName).Value;
    }

    [Fact]
    public async Task A_queued_job_older_than_the_limit_degrades_its_type()
    {
        using var dir = new TempDirectory();
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-05T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        using var host = Host(dir, runWorker: false, time);
        await host.StartAsync();
        try
        {
            var pipeline = host.Services.GetRequiredService<IGenerationPipeline>();
            await pipeline.SubmitAsync(new GenerationRequest { Type = PromptOnlyTestGenerator.TypeName, UserId = "u", Prompt = "waits" });

            time.Advance(TimeSpan.FromMinutes(4));
            var fresh = await EntryAsync(host);
            Assert.Equal(HealthStatus.Healthy, fresh.Status);
            Assert.Equal(1L, fresh.Data["queued"]);
            Assert.Equal(240.0, fresh.Data["oldestQueuedSeconds"]);
            Assert.Equal("off", fresh.Data["worker"]);
            Assert.Equal("closed", fresh.Data["circuit"]);
            Assert.Equal("offline", fresh.Data["provider"]);
            Assert.Contains(PromptOnlyTestGenerator.TypeName, fresh.Tags);

            time.Advance(TimeSpan.FromMinutes(2));
            var stale = await EntryAsync(host);
            Assert.Equal(HealthStatus.Degraded, stale.Status);
            Assert.Equal(360.0, stale.Data["oldestQueuedSeconds"]);
            Assert.Contains("oldest queued job has waited 360 s", stale.Description, StringComparison.Ordinal);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_store_whose_tables_are_not_there_is_unhealthy()
    {
        using var dir = new TempDirectory();
        using var host = Host(dir, runWorker: false);
        // Not started: the type's table was never created.
        var entry = await EntryAsync(host);
        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Equal("unreachable", entry.Data["store"]);
        Assert.Contains("the store did not answer", entry.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_running_worker_is_reported_alive_and_healthy()
    {
        using var dir = new TempDirectory();
        using var host = Host(dir, runWorker: true);
        await host.StartAsync();
        try
        {
            var pipeline = host.Services.GetRequiredService<IGenerationPipeline>();
            var ticket = await pipeline.SubmitAsync(new GenerationRequest { Type = PromptOnlyTestGenerator.TypeName, UserId = "u", Prompt = "runs" });
            Assert.Equal(GenerationStatus.Completed, (await pipeline.WaitForCompletionAsync(ticket.Type, ticket.Id, "u", TimeSpan.FromSeconds(60))).Status);

            var entry = await EntryAsync(host);
            Assert.Equal(HealthStatus.Healthy, entry.Status);
            Assert.Equal("running", entry.Data["worker"]);
            Assert.Equal(0L, entry.Data["queued"]);
        }
        finally
        {
            await host.StopAsync();
        }

        var stopped = await EntryAsync(host);
        Assert.Equal(HealthStatus.Unhealthy, stopped.Status);
        Assert.Equal("stopped", stopped.Data["worker"]);
    }
}
