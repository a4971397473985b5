using System.Text.Json;
using Stefna.Sdk.Testing.Fakes;
using Stefna.Sdk.Webhooks;

namespace Stefna.Samples.Console.Tests;

/// <summary>`submit --webhook` then `worker --exit-when-idle` delivers a signed generation.completed to a receiver on
/// 127.0.0.1 that verifies it with the secret from STEFNA_WEBHOOK_SECRET.</summary>
public sealed class WebhookCliTests
{
    // One secret for the whole test process: the CLI reads it from the environment, which every test shares.
    private static readonly string Secret = SharedSecret();

    public WebhookCliTests() => Assert.NotEmpty(Secret); // sets STEFNA_WEBHOOK_SECRET before any command runs

    [Fact]
    public async Task Submit_with_a_webhook_then_worker_exit_when_idle_delivers_a_signed_completed_event()
    {
        await using var receiver = await WebhookReceiver.StartAsync([Secret]);
        receiver.FailFirstAttempts = 1; // the first answer is 500: the worker retries with the same webhook-id before exiting
        using var cli = new Cli();

        var submitted = await cli.RunAsync("submit", "neo-glitch", "--image", Cli.Portrait, "--webhook", receiver.Url.AbsoluteUri, "--allow-private-urls");
        Assert.True(submitted.ExitCode == 0, submitted.Stderr);
        var id = submitted.Stdout.Trim();
        Assert.Empty(receiver.Deliveries);

        var worker = await cli.RunAsync("worker", "--exit-when-idle", "--allow-private-urls", "--json");
        Assert.True(worker.ExitCode == 0, worker.Stderr);
        using var summary = JsonDocument.Parse(worker.Stdout);
        Assert.Equal((1, 0), (summary.RootElement.GetProperty("webhooksDelivered").GetInt64(), summary.RootElement.GetProperty("webhooksPending").GetInt64()));

        var deliveries = receiver.Deliveries;
        Assert.Equal([500, 200], deliveries.Select(d => d.Answer));
        Assert.All(deliveries, d => Assert.True(d.Verified, d.Problem));
        Assert.Equal(deliveries[0].Id, deliveries[1].Id);
        Assert.Equal(WebhookEventTypes.Completed, deliveries[1].EventType);
        Assert.Equal(Guid.Parse(id), deliveries[1].JobId);
        using var body = JsonDocument.Parse(deliveries[1].Body);
        var data = body.RootElement.GetProperty("data");
        Assert.Equal("neo-glitch", data.GetProperty("type").GetString());
        Assert.Equal(cli.ReadRow("neo_glitch_media", id).ImageUrl, data.GetProperty("imageUrl").GetString());

        // The secret is never echoed.
        Assert.DoesNotContain(Secret, submitted.Stdout + submitted.Stderr + worker.Stdout + worker.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_with_a_webhook_delivers_the_event_before_it_exits()
    {
        await using var receiver = await WebhookReceiver.StartAsync([Secret]);
        using var cli = new Cli();
        var job = await cli.JsonAsync("generate", "neo-glitch", "--image", Cli.Portrait, "--webhook", receiver.Url.AbsoluteUri, "--allow-private-urls");
        var delivery = Assert.Single(receiver.Deliveries);
        Assert.True(delivery.Verified, delivery.Problem);
        Assert.Equal((WebhookEventTypes.Completed, Guid.Parse(job.GetProperty("id").GetString()!)), (delivery.EventType, delivery.JobId));
    }

    [Fact]
    public async Task A_loopback_webhook_without_allow_private_urls_is_refused_in_one_line_and_nothing_is_queued()
    {
        using var cli = new Cli();
        var refused = await cli.RunAsync("submit", "neo-glitch", "--image", Cli.Portrait, "--webhook", "http://127.0.0.1:9/hook");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("loopback, private or link-local", refused.Stderr, StringComparison.Ordinal);
        Assert.Single(refused.Stderr.Trim().Split('\n'));
        Assert.Equal(0, cli.CountRows("neo_glitch_media"));
    }

    private static string SharedSecret()
    {
        var secret = Environment.GetEnvironmentVariable("STEFNA_WEBHOOK_SECRET");
        if (string.IsNullOrEmpty(secret))
        {
            secret = WebhookSignature.NewSecret();
            Environment.SetEnvironmentVariable("STEFNA_WEBHOOK_SECRET", secret);
        }

        return secret;
    }
}
