using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using Stefna.Sdk.Diagnostics;
using Stefna.Sdk.Pipeline;
using Stefna.Sdk.Providers;
using Stefna.TestUtils;

namespace Stefna.Sdk.Tests.Providers;

/// <summary>Fallback per type: an ordered provider list with a circuit per member.</summary>
public sealed class FallbackProviderTests
{
    private static GenerationException Down() => new(GenerationErrorCategory.ProviderUnavailable, "503 from upstream", "provider_unavailable.http_503");

    private static ProviderRequest Request(string type) => ScriptedProvider.Request() with { Type = type };

    [Fact]
    public async Task When_the_first_is_down_the_second_serves_and_after_enough_failures_the_first_is_skipped()
    {
        var type = "fallback-" + Guid.NewGuid().ToString("N");
        await using var metrics = new ServiceCollection().AddMetrics().BuildServiceProvider(); // this test's own meters
        var meterFactory = metrics.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var calls = new MetricCollector<long>(meterFactory, StefnaTelemetry.Name, "stefna.provider.calls");
        var time = new FakeTimeProvider();
        var first = new ScriptedProvider("first", seed: 1) { Failure = Down };
        var second = new ScriptedProvider("second", seed: 2);
        var fallback = new FallbackImageProvider([first, second], new FallbackProviderOptions { MinimumThroughput = 2, BreakDuration = TimeSpan.FromSeconds(30) }, time, meterFactory);

        for (var i = 0; i < 5; i++)
        {
            var image = Assert.IsType<ProviderResponse.Completed>(await fallback.SubmitAsync(Request(type), CancellationToken.None)).Image;
            Assert.Equal(second.Image, image.Bytes!.Value.ToArray());
            Assert.Equal("second", image.Meta["provider"]);
            Assert.Equal("second-model", image.Meta["model"]);
        }

        Assert.Equal(2, first.Calls); // its circuit opened after two failures; the other three jobs skipped it
        Assert.Equal(5, second.Calls);
        var mine = calls.GetMeasurementSnapshot().Where(m => Equals(m.Tags[StefnaTelemetry.TypeTag], type)).ToList();
        long Count(string provider, string outcome) => mine.Where(m => Equals(m.Tags[FallbackImageProvider.ProviderTag], provider) && Equals(m.Tags[FallbackImageProvider.OutcomeTag], outcome)).Sum(m => m.Value);
        Assert.Equal(2, Count("first", "failure"));
        Assert.Equal(3, Count("first", "circuit_open"));
        Assert.Equal(5, Count("second", "success"));

        // The first comes back; once the break is over, its trial call succeeds and it serves again.
        first.Failure = null;
        time.Advance(TimeSpan.FromSeconds(31));
        var back = Assert.IsType<ProviderResponse.Completed>(await fallback.SubmitAsync(Request(type), CancellationToken.None)).Image;
        Assert.Equal("first", back.Meta["provider"]);
        Assert.Equal(3, first.Calls);
        Assert.Equal(5, second.Calls);
    }

    [Fact]
    public async Task A_cancel_goes_to_the_member_named_in_the_pending_id_and_through_middleware()
    {
        var first = new ScriptedProvider("first");
        var second = new ScriptedProvider("second");
        var fallback = new FallbackImageProvider([first, second]);
        IImageProvider wrapped = new PassThrough(fallback);

        await wrapped.CancelAsync("second|gen-42", CancellationToken.None);

        Assert.Empty(first.Cancels);
        Assert.Equal(["gen-42"], second.Cancels);
    }

    private sealed class PassThrough(IImageProvider inner) : DelegatingImageProvider(inner);

    [Fact]
    public async Task A_content_refusal_is_not_sent_to_the_next_provider()
    {
        var first = new ScriptedProvider("first") { Failure = () => new GenerationException(GenerationErrorCategory.ContentRejected, "refused", "content_rejected.policy") };
        var second = new ScriptedProvider("second");
        var fallback = new FallbackImageProvider([first, second]);

        var error = await Assert.ThrowsAsync<GenerationException>(async () => await fallback.SubmitAsync(Request("t"), CancellationToken.None));

        Assert.Equal(GenerationErrorCategory.ContentRejected, error.Category);
        Assert.Equal(0, second.Calls);
    }

    [Fact]
    public async Task When_every_provider_fails_the_job_gets_one_unavailable_error_naming_each()
    {
        var fallback = new FallbackImageProvider([new ScriptedProvider("first") { Failure = Down }, new ScriptedProvider("second") { Failure = () => new HttpRequestException("connection refused") }]);

        var error = await Assert.ThrowsAsync<GenerationException>(async () => await fallback.SubmitAsync(Request("t"), CancellationToken.None));

        Assert.Equal("provider_unavailable.all_failed", error.Code);
        Assert.Contains("first: 503 from upstream", error.Message, StringComparison.Ordinal);
        Assert.Contains("second: connection refused", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_members_with_one_name_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new FallbackImageProvider([new ScriptedProvider("same"), new ScriptedProvider("same")]));
    }

    [Fact]
    public async Task The_type_keeps_completing_through_the_second_provider_when_the_first_is_down()
    {
        using var dir = new TempDirectory();
        var first = new ScriptedProvider("first", seed: 1) { Failure = Down };
        var second = new ScriptedProvider("second", seed: 2);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStefna(o =>
            {
                o.RunWorker = false;
                o.IdlePollInterval = TimeSpan.FromMilliseconds(50);
            })
            .AddGenerator<PromptOnlyTestGenerator>(PromptOnlyTestGenerator.TypeName, t => t.MaxInFlight = 1) // one at a time: the circuit sees each outcome before the next call
            .UseSqlite(dir.File("stefna.db"))
            .UseLocalFileStorage(dir.File("images"))
            .UseProviders(PromptOnlyTestGenerator.TypeName, [_ => first, _ => second], o => o.MinimumThroughput = 2);
        await using var container = services.BuildServiceProvider();
        var pipeline = container.GetRequiredService<IGenerationPipeline>();

        var tickets = new List<GenerationTicket>();
        for (var i = 0; i < 6; i++)
        {
            tickets.Add(await pipeline.SubmitAsync(new GenerationRequest { Type = PromptOnlyTestGenerator.TypeName, UserId = "u", Prompt = $"job {i}" }));
        }

        await container.GetRequiredService<GenerationWorker>().RunAsync(exitWhenIdle: true, CancellationToken.None);

        foreach (var ticket in tickets)
        {
            var job = await pipeline.GetStatusAsync(ticket.Type, ticket.Id, "u");
            Assert.True(job!.Status == GenerationStatus.Completed, $"{job.Status}: {job.Error}");
            Assert.Equal("second", job.Meta["provider"]);
            Assert.Equal("second-model", job.Meta["model"]);
            Assert.Equal(second.Image, await File.ReadAllBytesAsync(new Uri(job.ImageUrl!).LocalPath));
        }

        Assert.Equal(6, second.Calls);
        Assert.Equal(2, first.Calls); // then its circuit opened and the remaining jobs went straight to the second
    }
}
