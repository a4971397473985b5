using Contoso.RetroPoster;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Stefna.Sdk;
using Stefna.Sdk.Testing.Fakes;

namespace Contoso.RetroPoster.Tests;

/// <summary>Retro Poster through the real HTTP provider (<c>UseAimlApi</c>), against the conformance kit's loopback
/// AIML API: no account, no network. Proves what the type's <c>CreateProviderRequest</c> puts on the wire.</summary>
public sealed class RetroPosterAimlApiTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "retro-poster-tests", Guid.NewGuid().ToString("N"));

    // The host's SQLite store clears its own file's pool when the host is disposed. No SqliteConnection.ClearAllPools():
    // it clears every pool in the process and can dispose the handle of a connection a parallel test is opening.
    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public async Task A_job_through_the_AIML_API_provider_sends_a_schema_valid_request_and_stores_the_answered_image()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var aiml = await AimlApiEmulator.StartAsync("contoso-key");
        aiml.Enqueue(AimlScriptedReply.Error(503, "warming up", "server_error")); // one transient failure, then the image
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddStefna(o => o.RetryBackoff = TimeSpan.FromMilliseconds(10)).AddRetroPoster()
            .UseSqlite(Path.Combine(_folder, "stefna.db"))
            // The AIML API's image-to-image models take the source only as a URL it can fetch: public URLs for the files.
            .UseLocalFileStorage(Path.Combine(_folder, "images"), "https://cdn.contoso.test/media")
            .UseAimlApi(o =>
            {
                o.ApiKey = aiml.ApiKey;
                o.BaseUrl = aiml.BaseUrl;
                o.RetryDelay = TimeSpan.FromMilliseconds(20);
            });
        using var host = builder.Build();
        await host.StartAsync(timeout.Token);
        try
        {
            var pipeline = host.Services.GetRequiredService<IGenerationPipeline>();
            var ticket = await pipeline.SubmitAsync(RetroPosterConformanceTests.Request(era: "eighties", headline: "Night Drive"), timeout.Token);
            var job = await pipeline.WaitForCompletionAsync(ticket.Type, ticket.Id, "poster-fan", TimeSpan.FromMinutes(1), timeout.Token);

            Assert.True(job.Status == GenerationStatus.Completed, $"{job.Status}: {job.Error}");
            var stored = await host.Services.GetRequiredService<Stefna.Sdk.Assets.IAssetStorage>().ReadAsync(job.ImageUrl!, timeout.Token);
            Assert.Equal(aiml.Image, stored.ToArray());
            Assert.Equal([503, 200], aiml.Requests.Select(r => r.Status));
            Assert.Empty(aiml.SchemaErrors);
            var sent = aiml.Requests[^1];
            Assert.Equal("Bearer contoso-key", sent.Authorization);
            Assert.Equal("flux/dev/image-to-image", (string?)sent.Json["model"]);
            Assert.False(sent.Json.ContainsKey("image_size")); // documented: the output follows the reference image
            Assert.Equal(0.65, (double?)sent.Json["strength"]);
            Assert.Equal(job.SourceImageUrl, (string?)sent.Json["image_url"]);
            Assert.StartsWith("https://cdn.contoso.test/media/", job.SourceImageUrl, StringComparison.Ordinal);
            Assert.Contains("bold headline text \"Night Drive\"", (string?)sent.Json["prompt"], StringComparison.Ordinal);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }
}
