using Contoso.RetroPoster;
using Microsoft.Data.Sqlite;
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

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
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
            .UseLocalFileStorage(Path.Combine(_folder, "images"))
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
            Assert.Equal(aiml.Image, await File.ReadAllBytesAsync(new Uri(job.ImageUrl!).LocalPath, timeout.Token));
            Assert.Equal([503, 200], aiml.Requests.Select(r => r.Status));
            Assert.Empty(aiml.SchemaErrors);
            var sent = aiml.Requests[^1];
            Assert.Equal("Bearer contoso-key", sent.Authorization);
            Assert.Equal("flux/dev/image-to-image", (string?)sent.Json["model"]);
            Assert.Equal("portrait_4_3", (string?)sent.Json["image_size"]);
            Assert.Equal(0.65, (double?)sent.Json["strength"]);
            Assert.StartsWith("data:image/png;base64,", (string?)sent.Json["image_url"], StringComparison.Ordinal);
            Assert.Contains("bold headline text \"Night Drive\"", (string?)sent.Json["prompt"], StringComparison.Ordinal);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }
}
