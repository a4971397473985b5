using Microsoft.Extensions.DependencyInjection;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Stefna.TestUtils;

namespace Stefna.Sdk.Isolation.Tests;

/// <summary>The provider seam's poll style, through the real pipeline, against a real HTTP server.</summary>
public sealed class PollingProviderTests
{
    private const string Type = "poll-test";

    [Fact]
    public async Task A_submit_then_poll_provider_completes_the_job_records_its_id_and_stores_the_served_image()
    {
        var image = TestImages.Png(48, 32, seed: 11);
        var submits = new ConcurrentQueue<string>();
        var served = new ConcurrentDictionary<string, ConcurrentQueue<string>>();
        var downloads = 0;
        LoopbackServer? self = null;
        await using var server = await LoopbackServer.StartAsync(app =>
        {
            app.MapPost("/v1/jobs", async (HttpContext context) =>
            {
                using var reader = new StreamReader(context.Request.Body);
                submits.Enqueue(await reader.ReadToEndAsync());
                var id = $"pj-{submits.Count}";
                served[id] = new ConcurrentQueue<string>();
                return Results.Json(new { id, status = "queued" }, statusCode: 201);
            });
            app.MapGet("/v1/jobs/{id}", (string id) =>
            {
                if (!served.TryGetValue(id, out var statuses))
                {
                    return Results.NotFound();
                }

                var status = statuses.Count switch { 0 => "queued", 1 => "generating", _ => "completed" };
                statuses.Enqueue(status);
                return status == "completed"
                    ? Results.Json(new { id, status, output = new { url = new Uri(self!.BaseUrl, $"/v1/files/{id}.png").AbsoluteUri } })
                    : Results.Json(new { id, status });
            });
            app.MapGet("/v1/files/{name}", () =>
            {
                Interlocked.Increment(ref downloads);
                return Results.Bytes(image, "image/png");
            });
        });
        self = server;

        using var http = new HttpClient();
        await using var host = PipelineHost.Start(b => b
            .AddGenerator<KeyedTestGenerator>(Type)
            .UseProvider(Type, _ => new HttpPollingTestProvider(http, server.BaseUrl)));

        var job = await host.RunAsync(Type, prompt: "a paper boat");

        Assert.Equal(GenerationStatus.Completed, job.Status);
        Assert.Equal("pj-1", job.ProviderJobId);
        var submit = Assert.Single(submits);
        Assert.Contains("a paper boat", submit, StringComparison.Ordinal);
        Assert.Equal(["queued", "generating", "completed"], served["pj-1"]);
        Assert.Equal(1, downloads);
        Assert.Equal(image, (await host.ReadImageAsync(job)).ToArray());
        Assert.Equal("http-polling-test", job.Meta["provider"]);
        Assert.Equal("completed", job.Meta["provider_status"]);
    }
}
