using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Webhooks;
using Stefna.TestUtils;

namespace Stefna.Sdk.Tests;

/// <summary><c>Stefna:Webhooks</c> binds from configuration like every other option, and its validation names keys
/// without echoing a secret.</summary>
public class WebhookOptionsTests
{
    [Fact]
    public async Task A_host_running_the_worker_delivers_through_its_hosted_delivery_loop()
    {
        using var dir = new TempDirectory();
        var secret = WebhookSignature.NewSecret();
        await using var receiver = await Stefna.Sdk.Testing.Fakes.WebhookReceiver.StartAsync([secret]);
        using var host = Host($$"""{ "Secrets": [ "{{secret}}" ], "AllowPrivateUrls": true, "PollInterval": "00:00:00.050" }""", dir, runWorker: true);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await host.StartAsync(timeout.Token);
        var ticket = await host.Services.GetRequiredService<IGenerationPipeline>().SubmitAsync(new GenerationRequest
        {
            Type = PromptOnlyTestGenerator.TypeName,
            UserId = "hosted",
            Prompt = "a lighthouse",
            WebhookUrl = receiver.Url,
        }, timeout.Token);

        var delivered = Assert.Single(await receiver.WaitUntilAsync(d => d.Count > 0, timeout.Token));
        Assert.True(delivered.Verified, delivered.Problem);
        Assert.Equal((WebhookEventTypes.Completed, ticket.Id, 200), (delivered.EventType, delivered.JobId, delivered.Answer));
        await host.StopAsync(timeout.Token);
    }

    private static IHost Host(string webhooks, TempDirectory dir, bool runWorker = false)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes($$"""{ "Stefna": { "RunWorker": {{(runWorker ? "true" : "false")}}, "IdlePollInterval": "00:00:00.050", "Webhooks": {{webhooks}} } }""")));
        builder.Services.AddStefna(builder.Configuration.GetSection("Stefna"))
            .AddGenerator<PromptOnlyTestGenerator>(PromptOnlyTestGenerator.TypeName)
            .UseSqlite(dir.File("stefna.db"))
            .UseLocalFileStorage(dir.File("images"))
            .UseOfflineProvider();
        return builder.Build();
    }

    [Fact]
    public void Endpoints_secrets_and_the_schedule_bind_from_the_Webhooks_section()
    {
        using var dir = new TempDirectory();
        var secret = WebhookSignature.NewSecret();
        using var host = Host($$"""
            { "Secrets": [ "{{secret}}" ], "Endpoints": [ "https://hooks.example.com/stefna" ], "MaxAge": "02:00:00", "FirstRetryDelay": "00:00:01", "Retention": "30.00:00:00", "AllowPrivateUrls": true }
            """, dir);
        var options = host.Services.GetRequiredService<IOptions<StefnaWebhookOptions>>().Value;
        Assert.Equal([secret], options.Secrets);
        Assert.Equal(["https://hooks.example.com/stefna"], options.Endpoints);
        Assert.Equal((TimeSpan.FromHours(2), TimeSpan.FromSeconds(1), true), (options.MaxAge, options.FirstRetryDelay, options.AllowPrivateUrls));
        Assert.Equal(TimeSpan.FromDays(30), options.Retention);
    }

    [Fact]
    public async Task Invalid_values_stop_the_host_naming_their_keys_and_never_the_secret()
    {
        using var dir = new TempDirectory();
        using var host = Host("""
            { "Secrets": [ "whsec_c2hvcnQ=" ], "Endpoints": [ "ftp://example.com/x" ], "MaxRetryDelay": "00:00:00.500", "BatchSize": 0, "Retention": "00:00:00" }
            """, dir);
        var text = (await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync())).ToString();
        Assert.Contains("Stefna:Webhooks:Secrets:0 is not a valid secret", text, StringComparison.Ordinal);
        Assert.Contains("Stefna:Webhooks:Endpoints:0 must be an absolute http or https URL", text, StringComparison.Ordinal);
        Assert.Contains("Stefna:Webhooks:MaxRetryDelay must be at least FirstRetryDelay", text, StringComparison.Ordinal);
        Assert.Contains("Stefna:Webhooks:BatchSize must be between 1 and 1000", text, StringComparison.Ordinal);
        Assert.Contains("Stefna:Webhooks:Retention must be positive", text, StringComparison.Ordinal);
        Assert.DoesNotContain("c2hvcnQ", text, StringComparison.Ordinal);
    }
}
