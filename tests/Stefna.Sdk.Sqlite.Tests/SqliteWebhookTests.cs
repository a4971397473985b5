using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Pipeline;
using Stefna.Sdk.Providers;
using Stefna.Sdk.Testing.Fakes;
using Stefna.Sdk.Webhooks;
using Stefna.TestUtils;

namespace Stefna.Sdk.Sqlite.Tests;

/// <summary>Webhooks on the SQLite store: the outbox row written with the status change, delivery to a loopback
/// receiver that verifies every signature, retries with the same webhook-id on a FakeTimeProvider schedule.</summary>
public sealed class SqliteWebhookTests : IAsyncLifetime
{
    private static readonly string Secret = "whsec_" + Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
    private readonly TempDirectory _folder = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero));
    private WebhookReceiver _receiver = null!;
    private string _database = string.Empty;

    public async Task InitializeAsync() => _receiver = await WebhookReceiver.StartAsync([Secret], _time);

    public async Task DisposeAsync()
    {
        await _receiver.DisposeAsync();
        _folder.Dispose();
    }

    [Fact]
    public async Task Completed_job_is_delivered_signed_and_a_500_is_retried_with_the_same_id_after_the_first_retry_delay()
    {
        await using var services = Build(o => { });
        var pipeline = services.GetRequiredService<IGenerationPipeline>();
        var dispatcher = services.GetRequiredService<WebhookDispatcher>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        _receiver.FailFirstAttempts = 1;

        var ticket = await pipeline.SubmitAsync(Request(_receiver.Url), timeout.Token);
        await RunWorkerUntilIdleAsync(services, timeout.Token);
        var job = await pipeline.GetStatusAsync(EchoGenerator.TypeName, ticket.Id, "hook-user", timeout.Token);
        Assert.Equal(GenerationStatus.Completed, job!.Status);

        // The event was written with the completion: one pending message, due now.
        Assert.Equal(new WebhookBacklog(1, job.UpdatedAt), await dispatcher.GetBacklogAsync(timeout.Token));

        // A host sharing the store without a signing secret does not deliver, so it cannot spend the message's retries.
        await using (var unsigned = Build(o => o.Secrets.Clear(), _database))
        {
            var bystander = unsigned.GetRequiredService<WebhookDispatcher>();
            Assert.False(bystander.Enabled);
            Assert.Equal(0, await bystander.DeliverDueAsync(timeout.Token));
            await bystander.RunAsync(exitWhenIdle: false, timeout.Token); // returns at once
            Assert.Empty(_receiver.Deliveries);
        }

        Assert.Equal(1, await dispatcher.DeliverDueAsync(timeout.Token));
        var first = Assert.Single(_receiver.Deliveries);
        Assert.True(first.Verified, first.Problem);
        Assert.Equal(500, first.Answer);

        // Not due again before the first retry delay (2 s), due exactly then.
        Assert.Equal(0, await dispatcher.DeliverDueAsync(timeout.Token));
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(2), (await dispatcher.GetBacklogAsync(timeout.Token)).NextDueAt);
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, await dispatcher.DeliverDueAsync(timeout.Token));

        var deliveries = _receiver.Deliveries;
        Assert.Equal(2, deliveries.Count);
        var second = deliveries[1];
        Assert.True(second.Verified, second.Problem);
        Assert.Equal(200, second.Answer);
        Assert.Equal(first.Id, second.Id);
        Assert.StartsWith("msg_", second.Id, StringComparison.Ordinal);
        Assert.Equal(first.Body, second.Body);
        Assert.Equal(long.Parse(first.Timestamp!) + 2, long.Parse(second.Timestamp!));

        using var body = JsonDocument.Parse(second.Body);
        Assert.Equal(WebhookEventTypes.Completed, body.RootElement.GetProperty("type").GetString());
        Assert.Equal(job.UpdatedAt, body.RootElement.GetProperty("timestamp").GetDateTimeOffset());
        var data = body.RootElement.GetProperty("data");
        Assert.Equal(ticket.Id, data.GetProperty("id").GetGuid());
        Assert.Equal(EchoGenerator.TypeName, data.GetProperty("type").GetString());
        Assert.Equal("completed", data.GetProperty("status").GetString());
        Assert.Equal(job.ImageUrl, data.GetProperty("imageUrl").GetString());
        Assert.Equal(JsonValueKind.Null, data.GetProperty("error").ValueKind);

        Assert.Equal(new WebhookBacklog(0, null), await dispatcher.GetBacklogAsync(timeout.Token));
        Assert.Equal(0, await dispatcher.DeliverDueAsync(timeout.Token));
        Assert.Equal((1, 1), (dispatcher.Delivered, dispatcher.FailedAttempts));
    }

    [Fact]
    public async Task Canceled_job_goes_to_its_own_url_and_every_registered_endpoint_and_a_message_is_given_up_after_its_maximum_age()
    {
        await using var other = await WebhookReceiver.StartAsync([Secret], _time);
        other.FailFirstAttempts = int.MaxValue;
        await using var services = Build(o => o.Endpoints.Add(other.Url.AbsoluteUri));
        var pipeline = services.GetRequiredService<IGenerationPipeline>();
        var dispatcher = services.GetRequiredService<WebhookDispatcher>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));

        var ticket = await pipeline.SubmitAsync(Request(_receiver.Url), timeout.Token);
        await pipeline.CancelAsync(EchoGenerator.TypeName, ticket.Id, "hook-user", timeout.Token);
        Assert.Equal(2, await dispatcher.DeliverDueAsync(timeout.Token));

        var mine = Assert.Single(_receiver.Deliveries);
        var theirs = Assert.Single(other.Deliveries);
        Assert.True(mine.Verified && theirs.Verified);
        Assert.Equal((WebhookEventTypes.Canceled, ticket.Id), (mine.EventType, mine.JobId));
        Assert.Equal(mine.Body, theirs.Body);
        Assert.NotEqual(mine.Id, theirs.Id);

        // The endpoint keeps failing: retried 2 s, 4 s, 8 s … apart, never after 1 h (the maximum age here), then given up.
        var waits = new List<TimeSpan>();
        while ((await dispatcher.GetBacklogAsync(timeout.Token)).NextDueAt is { } due)
        {
            waits.Add(due - _time.GetUtcNow());
            _time.Advance(due - _time.GetUtcNow());
            Assert.Equal(1, await dispatcher.DeliverDueAsync(timeout.Token));
        }

        Assert.Equal([2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600, 600, 600], waits.Take(13).Select(w => (int)w.TotalSeconds));
        Assert.Equal(TimeSpan.FromHours(1), waits.Aggregate(TimeSpan.Zero, (a, b) => a + b));
        Assert.Equal(1, dispatcher.Abandoned);
        Assert.All(other.Deliveries, d => Assert.Equal(theirs.Id, d.Id));
        Assert.Equal(waits.Count + 1, other.Deliveries.Count); // the first attempt and one per wait: the last, at the maximum age, failed too and gave it up
    }

    [Fact]
    public async Task Delivered_and_given_up_messages_are_pruned_by_the_loop_once_the_retention_has_passed_and_not_before()
    {
        await using var other = await WebhookReceiver.StartAsync([Secret], _time);
        other.FailFirstAttempts = int.MaxValue;
        await using var services = Build(o =>
        {
            o.Endpoints.Add(other.Url.AbsoluteUri);
            o.Retention = TimeSpan.FromDays(1);
        });
        var pipeline = services.GetRequiredService<IGenerationPipeline>();
        var dispatcher = services.GetRequiredService<WebhookDispatcher>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));

        // Two messages at t0: delivered at once to this receiver; given up on the other after the maximum age (1 h),
        // at the due time of its last attempt, t0 + 1 h.
        var ticket = await pipeline.SubmitAsync(Request(_receiver.Url), timeout.Token);
        await pipeline.CancelAsync(EchoGenerator.TypeName, ticket.Id, "hook-user", timeout.Token);
        var t0 = _time.GetUtcNow();
        Assert.Equal(2, await dispatcher.DeliverDueAsync(timeout.Token));
        while ((await dispatcher.GetBacklogAsync(timeout.Token)).NextDueAt is { } due)
        {
            _time.Advance(due - _time.GetUtcNow());
            await dispatcher.DeliverDueAsync(timeout.Token);
        }

        Assert.Equal((1, 1, t0 + TimeSpan.FromHours(1)), (dispatcher.Delivered, dispatcher.Abandoned, _time.GetUtcNow()));
        Assert.Equal(0, await dispatcher.PruneAsync(timeout.Token));

        // Exactly the retention after the delivery: nothing yet. The loop pruned once, so not again within the hour.
        _time.Advance(t0 + TimeSpan.FromDays(1) - _time.GetUtcNow());
        await dispatcher.RunAsync(exitWhenIdle: true, timeout.Token);
        Assert.Equal(0, dispatcher.Pruned);
        _time.Advance(TimeSpan.FromMinutes(30));
        await dispatcher.RunAsync(exitWhenIdle: true, timeout.Token);
        Assert.Equal(0, dispatcher.Pruned);

        // An interval later the loop prunes the delivered message; the given-up one finished an hour later, so stays.
        _time.Advance(WebhookDispatcher.PruneInterval - TimeSpan.FromMinutes(30));
        await dispatcher.RunAsync(exitWhenIdle: true, timeout.Token);
        Assert.Equal(1, dispatcher.Pruned);
        Assert.Equal(0, await dispatcher.PruneAsync(timeout.Token));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await dispatcher.PruneAsync(timeout.Token));
        Assert.Equal(0, await dispatcher.PruneAsync(timeout.Token));
        Assert.Equal(2, dispatcher.Pruned);
        Assert.Equal(new WebhookBacklog(0, null), await dispatcher.GetBacklogAsync(timeout.Token));
    }

    [Fact]
    public async Task Failed_job_event_carries_the_error_and_the_metrics_count_attempts_successes_failures_and_latency()
    {
        var measured = new List<(string Name, double Value)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == Diagnostics.StefnaTelemetry.Name && instrument.Name.StartsWith("stefna.webhooks.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: Diagnostics.StefnaTelemetry.TypeTag, Value: EchoGenerator.TypeName })
                {
                    lock (measured)
                    {
                        measured.Add((instrument.Name, value));
                    }
                }
            }
        }

        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
        listener.Start();

        await using var services = Build(o => { });
        var pipeline = services.GetRequiredService<IGenerationPipeline>();
        var dispatcher = services.GetRequiredService<WebhookDispatcher>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        _receiver.FailFirstAttempts = 1;
        var request = Request(_receiver.Url);
        var ticket = await pipeline.SubmitAsync(new GenerationRequest { Type = request.Type, UserId = request.UserId, Image = request.Image, Prompt = InstantProvider.Refused, WebhookUrl = request.WebhookUrl }, timeout.Token);
        await RunWorkerUntilIdleAsync(services, timeout.Token);
        var job = await pipeline.GetStatusAsync(EchoGenerator.TypeName, ticket.Id, "hook-user", timeout.Token);
        Assert.Equal(GenerationStatus.Failed, job!.Status);

        Assert.Equal(1, await dispatcher.DeliverDueAsync(timeout.Token));
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, await dispatcher.DeliverDueAsync(timeout.Token));
        var delivered = _receiver.Deliveries[^1];
        Assert.True(delivered.Verified, delivered.Problem);
        Assert.Equal((WebhookEventTypes.Failed, 200), (delivered.EventType, delivered.Answer));
        using var body = JsonDocument.Parse(delivered.Body);
        var data = body.RootElement.GetProperty("data");
        Assert.Equal("failed", data.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, data.GetProperty("imageUrl").ValueKind);
        var error = data.GetProperty("error");
        Assert.Equal(job.Error!.Code, error.GetProperty("code").GetString());
        Assert.Equal("invalid_request", error.GetProperty("category").GetString());
        Assert.Equal(job.Error.Message, error.GetProperty("message").GetString());

        listener.Dispose();
        double Sum(string name) => measured.Where(m => m.Name == name).Sum(m => m.Value);
        Assert.Equal(2, Sum("stefna.webhooks.attempts"));
        Assert.Equal(1, Sum("stefna.webhooks.failures"));
        Assert.Equal(1, Sum("stefna.webhooks.delivered"));
        Assert.Equal(0, Sum("stefna.webhooks.abandoned"));
        Assert.Equal([(_time.GetUtcNow() - job.UpdatedAt).TotalSeconds], measured.Where(m => m.Name == "stefna.webhooks.latency").Select(m => m.Value));
        Assert.Equal(2, measured.Count(m => m.Name == "stefna.webhooks.request.duration"));
    }

    [Fact]
    public async Task Webhook_urls_are_checked_at_submit()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await using (var guarded = Build(o => o.AllowPrivateUrls = false))
        {
            var pipeline = guarded.GetRequiredService<IGenerationPipeline>();
            var refused = await Assert.ThrowsAsync<GenerationValidationException>(() => pipeline.SubmitAsync(Request(_receiver.Url), timeout.Token));
            Assert.Equal(("webhookUrl", "invalid_request.webhook_url_private_address"), (refused.Field, refused.Code));
            refused = await Assert.ThrowsAsync<GenerationValidationException>(() => pipeline.SubmitAsync(Request(new Uri("ftp://example.com/hook")), timeout.Token));
            Assert.Equal("invalid_request.webhook_url_invalid", refused.Code);
            refused = await Assert.ThrowsAsync<GenerationValidationException>(() => pipeline.SubmitAsync(Request(new Uri("http://user:pw@example.com/hook")), timeout.Token));
            Assert.Equal("invalid_request.webhook_url_invalid", refused.Code);
        }

        await using var unsigned = Build(o => o.Secrets.Clear());
        var noSecret = await Assert.ThrowsAsync<GenerationValidationException>(() => unsigned.GetRequiredService<IGenerationPipeline>().SubmitAsync(Request(_receiver.Url), timeout.Token));
        Assert.Equal("invalid_request.webhook_no_secret", noSecret.Code);
    }

    // Runs the worker until it has nothing left to do. Its idle waits run on the fake clock, so the clock is moved along
    // until the worker exits.
    private async Task RunWorkerUntilIdleAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        var worker = services.GetRequiredService<GenerationWorker>().RunAsync(exitWhenIdle: true, cancellationToken);
        while (!worker.IsCompleted)
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.WhenAny(worker, Task.Delay(5, cancellationToken));
        }

        await worker;
    }

    private static GenerationRequest Request(Uri webhook) => new()
    {
        Type = EchoGenerator.TypeName,
        UserId = "hook-user",
        Image = ImageInput.FromBytes(TestImages.Png(seed: 3)),
        Prompt = "a lighthouse",
        WebhookUrl = webhook,
    };

    private ServiceProvider Build(Action<StefnaWebhookOptions> configure, string? database = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddStefna(o => o.RunWorker = false)
            .AddGenerator<EchoGenerator>(EchoGenerator.TypeName)
            .UseSqlite(database ?? (_database = _folder.File($"db/{Guid.NewGuid():N}.db")))
            .UseLocalFileStorage(_folder.File("images"))
            .UseProvider(_ => new InstantProvider());
        services.Configure<StefnaWebhookOptions>(o =>
        {
            o.Secrets.Add(Secret);
            o.AllowPrivateUrls = true;
            o.MaxAge = TimeSpan.FromHours(1);
            configure(o);
        });
        return services.BuildServiceProvider();
    }

    private sealed class EchoGenerator(IOptions<StefnaOptions> options) : GeneratorBase(Definition, options)
    {
        public const string TypeName = "hook-echo";

        public static new GenerationTypeDefinition Definition { get; } = new(TypeName, "hook_echo_media", "Webhook echo");

        protected override ValueTask<GenerationSpec> PrepareCoreAsync(GenerationRequest request, string? prompt, CancellationToken cancellationToken) =>
            ValueTask.FromResult(new GenerationSpec { Prompt = prompt });

        public override ProviderRequest CreateProviderRequest(GenerationJob job, ImageContent? sourceImage) => new()
        {
            JobId = job.Id,
            Type = job.Type,
            Prompt = job.Prompt ?? "echo",
            SourceImage = sourceImage,
        };
    }

    private sealed class InstantProvider : IImageProvider
    {
        public const string Refused = "refuse this";

        public string Name => "instant";

        public ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken) =>
            request.Prompt == Refused
                ? throw new GenerationException(GenerationErrorCategory.InvalidRequest, "The instant provider refuses this prompt.")
                : ValueTask.FromResult<ProviderResponse>(new ProviderResponse.Completed(new ProviderImage { Bytes = TestImages.Png(16, 16, seed: 1) }));

        public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }
}
