using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Stefna.Sdk.Diagnostics;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Pipeline;
using Stefna.Sdk.Providers;
using Stefna.TestUtils;

namespace Stefna.Sdk.Tests;

public class TelemetryTests
{
    private sealed class PlainGenerator(Microsoft.Extensions.Options.IOptions<Configuration.StefnaOptions> options)
        : GeneratorBase(new GenerationTypeDefinition("telemetry-probe", "telemetry_probe_media", "Telemetry probe") { RequiresSourceImage = false }, options)
    {
        protected override ValueTask<GenerationSpec> PrepareCoreAsync(GenerationRequest request, string? prompt, CancellationToken cancellationToken) =>
            ValueTask.FromResult(new GenerationSpec { Prompt = prompt });

        public override ProviderRequest CreateProviderRequest(GenerationJob job, ImageContent? sourceImage) => NewProviderRequest(job, sourceImage, job.Prompt ?? "probe");
    }

    private sealed class FailingOnPrompt : IImageProvider
    {
        public string Name => "probe";

        public ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken) =>
            request.Prompt == "fail"
                ? throw new GenerationException(GenerationErrorCategory.ContentRejected, "refused by policy")
                : ValueTask.FromResult<ProviderResponse>(new ProviderResponse.Completed(new ProviderImage { Bytes = TestImages.Png() }));

        public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    [Fact]
    public async Task A_run_emits_an_activity_and_measurements_tagged_with_the_type()
    {
        var measurements = new ConcurrentBag<(string Instrument, long Value, string? Type, string? Category)>();
        using var meterListener = new MeterListener();
        meterListener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == StefnaTelemetry.Name)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        meterListener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? type = null, category = null;
            foreach (var tag in tags)
            {
                if (tag.Key == StefnaTelemetry.TypeTag) type = tag.Value as string;
                if (tag.Key == StefnaTelemetry.ErrorCategoryTag) category = tag.Value as string;
            }

            measurements.Add((instrument.Name, value, type, category));
        });
        meterListener.Start();

        var activities = new ConcurrentBag<Activity>();
        using var activityListener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == StefnaTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Add,
        };
        ActivitySource.AddActivityListener(activityListener);

        using var dir = new TempDirectory();
        var services = new ServiceCollection();
        services.AddStefna()
            .AddGenerator<PlainGenerator>("telemetry-probe")
            .UseSqlite(dir.File("stefna.db"))
            .UseLocalFileStorage(dir.File("images"))
            .UseProvider(_ => new FailingOnPrompt());
        await using var provider = services.BuildServiceProvider();
        var pipeline = provider.GetRequiredService<IGenerationPipeline>();
        var ok = await pipeline.SubmitAsync(new GenerationRequest { Type = "telemetry-probe", UserId = "u", Prompt = "fine" });
        var bad = await pipeline.SubmitAsync(new GenerationRequest { Type = "telemetry-probe", UserId = "u", Prompt = "fail" });
        await provider.GetRequiredService<GenerationWorker>().RunAsync(exitWhenIdle: true, CancellationToken.None);

        Assert.Equal(GenerationStatus.Completed, (await pipeline.GetStatusAsync(ok.Type, ok.Id, "u"))!.Status);
        var failed = (await pipeline.GetStatusAsync(bad.Type, bad.Id, "u"))!;
        Assert.Equal(GenerationStatus.Failed, failed.Status);
        Assert.Equal(GenerationErrorCategory.ContentRejected, failed.Error!.Category);
        Assert.Equal(1, failed.Attempts); // content refusals are never retried

        meterListener.RecordObservableInstruments();
        Assert.Contains(measurements, m => m.Instrument == "stefna.jobs.submitted" && m.Type == "telemetry-probe" && m.Value == 1);
        Assert.Contains(measurements, m => m.Instrument == "stefna.jobs.completed" && m.Type == "telemetry-probe");
        Assert.Contains(measurements, m => m.Instrument == "stefna.jobs.failed" && m.Type == "telemetry-probe" && m.Category == "content_rejected");
        Assert.Contains(activities, a => a.OperationName == "stefna.generate" && (string?)a.GetTagItem(StefnaTelemetry.TypeTag) == "telemetry-probe" && (Guid?)a.GetTagItem("stefna.job.id") == ok.Id);
        Assert.Contains(activities, a => a.OperationName == "stefna.submit" && (string?)a.GetTagItem(StefnaTelemetry.TypeTag) == "telemetry-probe");
    }

    [Fact]
    public async Task Two_hosts_in_one_process_each_see_only_their_own_counts()
    {
        using var dirA = new TempDirectory();
        using var dirB = new TempDirectory();
        await using var hostA = Host(dirA);
        await using var hostB = Host(dirB);
        using var submittedA = Collect(hostA, "stefna.jobs.submitted");
        using var completedA = Collect(hostA, "stefna.jobs.completed");
        using var callsA = Collect(hostA, "stefna.provider.calls");
        using var submittedB = Collect(hostB, "stefna.jobs.submitted");
        using var completedB = Collect(hostB, "stefna.jobs.completed");
        using var callsB = Collect(hostB, "stefna.provider.calls");

        await RunAsync(hostA, jobs: 2);
        await RunAsync(hostB, jobs: 3);

        Assert.Equal(2, submittedA.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(2, completedA.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(2, callsA.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(3, submittedB.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(3, completedB.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(3, callsB.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.All(submittedA.GetMeasurementSnapshot().Concat(submittedB.GetMeasurementSnapshot()), m => Assert.Equal("telemetry-probe", m.Tags[StefnaTelemetry.TypeTag]));

        static ServiceProvider Host(TempDirectory dir)
        {
            var services = new ServiceCollection();
            services.AddStefna()
                .AddGenerator<PlainGenerator>("telemetry-probe")
                .UseSqlite(dir.File("stefna.db"))
                .UseLocalFileStorage(dir.File("images"))
                .UseProviders("telemetry-probe", [_ => new FailingOnPrompt()]); // a fallback list: its calls are counted too
            return services.BuildServiceProvider();
        }

        // The SDK's meter (same name in every host) as created by this host's IMeterFactory.
        static MetricCollector<long> Collect(ServiceProvider host, string instrument) =>
            new(host.GetRequiredService<IMeterFactory>(), StefnaTelemetry.Name, instrument);

        static async Task RunAsync(ServiceProvider host, int jobs)
        {
            var pipeline = host.GetRequiredService<IGenerationPipeline>();
            for (var i = 0; i < jobs; i++)
            {
                await pipeline.SubmitAsync(new GenerationRequest { Type = "telemetry-probe", UserId = "u", Prompt = "fine" });
            }

            await host.GetRequiredService<GenerationWorker>().RunAsync(exitWhenIdle: true, CancellationToken.None);
        }
    }
}
