using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Stefna.Generators.CustomPrompt;
using Stefna.Sdk.Diagnostics;
using Stefna.Sdk.Providers;
using Stefna.TestUtils;

namespace Stefna.Sdk.OpenTelemetry.Tests;

/// <summary>Traces and metrics through OpenTelemetry's SDK and in-memory exporter: the worker's span, on another host,
/// links to the submit's; a failed job's span has error status and code.</summary>
public sealed class InstrumentationTests
{
    [Fact]
    public async Task The_worker_span_on_another_host_links_to_the_submit_span_and_a_failed_job_is_marked_as_an_error()
    {
        var spans = new List<Activity>();
        var metrics = new List<Metric>();
        using var tracing = global::OpenTelemetry.Sdk.CreateTracerProviderBuilder().AddStefnaInstrumentation().AddInMemoryExporter(spans).Build();
        using var metering = global::OpenTelemetry.Sdk.CreateMeterProviderBuilder().AddStefnaInstrumentation().AddInMemoryExporter(metrics).Build();
        using var dir = new TempDirectory();

        // A web host that only submits, and a worker host: two containers sharing one database, as two processes would.
        using var submitter = Host(dir, runWorker: false);
        await submitter.StartAsync();
        var pipeline = submitter.Services.GetRequiredService<IGenerationPipeline>();
        var ok = await pipeline.SubmitAsync(new GenerationRequest { Type = CustomPromptGenerator.TypeName, UserId = "u", Prompt = "a lighthouse" });
        var bad = await pipeline.SubmitAsync(new GenerationRequest { Type = CustomPromptGenerator.TypeName, UserId = "u", Prompt = "please refuse" });
        await submitter.StopAsync();

        using var worker = Host(dir, runWorker: true);
        await worker.StartAsync();
        var workerPipeline = worker.Services.GetRequiredService<IGenerationPipeline>();
        Assert.Equal(GenerationStatus.Completed, (await workerPipeline.WaitForCompletionAsync(ok.Type, ok.Id, "u", TimeSpan.FromSeconds(60))).Status);
        Assert.Equal(GenerationStatus.Failed, (await workerPipeline.WaitForCompletionAsync(bad.Type, bad.Id, "u", TimeSpan.FromSeconds(60))).Status);
        await worker.StopAsync();
        tracing.ForceFlush();
        metering.ForceFlush();

        var submit = Span(spans, "stefna.submit", ok.Id);
        var generate = Span(spans, "stefna.generate", ok.Id);
        Assert.Equal(ActivityKind.Producer, submit.Kind);
        Assert.Equal(ActivityKind.Consumer, generate.Kind);
        Assert.NotEqual(submit.TraceId, generate.TraceId); // its own trace ...
        var link = Assert.Single(generate.Links);          // ... linked to the submit's
        Assert.Equal(submit.TraceId, link.Context.TraceId);
        Assert.Equal(submit.SpanId, link.Context.SpanId);
        Assert.Equal(ActivityStatusCode.Unset, generate.Status);
        Assert.Equal(CustomPromptGenerator.TypeName, generate.GetTagItem(StefnaTelemetry.TypeTag));

        var failed = Span(spans, "stefna.generate", bad.Id);
        Assert.Equal(ActivityStatusCode.Error, failed.Status);
        Assert.Equal("content_rejected.test_refusal", failed.StatusDescription);
        Assert.Equal("content_rejected.test_refusal", failed.GetTagItem(StefnaTelemetry.ErrorCodeTag));
        Assert.Equal("content_rejected", failed.GetTagItem(StefnaTelemetry.ErrorCategoryTag));
        Assert.Equal(Span(spans, "stefna.submit", bad.Id).SpanId, Assert.Single(failed.Links).Context.SpanId);

        Assert.Contains(metrics, m => m.Name == "stefna.jobs.submitted");
        Assert.Contains(metrics, m => m.Name == "stefna.jobs.failed");
    }

    [Fact]
    public async Task A_refused_submit_has_error_status_and_code()
    {
        var spans = new List<Activity>();
        using var tracing = global::OpenTelemetry.Sdk.CreateTracerProviderBuilder().AddStefnaInstrumentation().AddInMemoryExporter(spans).Build();
        using var dir = new TempDirectory();
        using var host = Host(dir, runWorker: false);
        await host.StartAsync();
        var pipeline = host.Services.GetRequiredService<IGenerationPipeline>();
        var error = await Assert.ThrowsAnyAsync<GenerationException>(() => pipeline.SubmitAsync(new GenerationRequest { Type = CustomPromptGenerator.TypeName, UserId = "u", Prompt = "   " }));
        await host.StopAsync();
        tracing.ForceFlush();

        var submit = Assert.Single(spans, s => s.OperationName == "stefna.submit");
        Assert.Equal(ActivityStatusCode.Error, submit.Status);
        Assert.Equal(error.Code, submit.GetTagItem(StefnaTelemetry.ErrorCodeTag));
    }

    private static Activity Span(List<Activity> spans, string name, Guid jobId) =>
        Assert.Single(spans, s => s.OperationName == name && Equals(s.GetTagItem("stefna.job.id"), jobId));

    private static IHost Host(TempDirectory dir, bool runWorker)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddStefna(o =>
            {
                o.RunWorker = runWorker;
                o.MaxAttempts = 1;
                o.IdlePollInterval = TimeSpan.FromMilliseconds(50);
            })
            .AddCustomPrompt(o => o.ProviderRetries = 0)
            .UseSqlite(dir.File("stefna.db"))
            .UseLocalFileStorage(dir.File("images"))
            .UseProvider(_ => new ScriptedProvider());
        return builder.Build();
    }

    /// <summary>Answers a small PNG, or refuses prompts that ask for it.</summary>
    private sealed class ScriptedProvider : IImageProvider
    {
        private static readonly byte[] Image = TestImages.Png(16, 16);

        public string Name => "scripted";

        public ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken) =>
            request.Prompt.Contains("refuse", StringComparison.Ordinal)
                ? throw new GenerationException(GenerationErrorCategory.ContentRejected, "Refused for the test.", "content_rejected.test_refusal")
                : ValueTask.FromResult<ProviderResponse>(new ProviderResponse.Completed(new ProviderImage { Bytes = Image }));

        public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }
}
