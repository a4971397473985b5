using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Assets;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Pipeline;
using Stefna.Sdk.Providers;
using Stefna.TestUtils;

namespace Stefna.Sdk.Isolation.Tests;

/// <summary>A generation type for tests, named by its registration key (one class serves any number of types).</summary>
internal sealed class KeyedTestGenerator([ServiceKey] string type, IOptions<StefnaOptions> options)
    : GeneratorBase(new GenerationTypeDefinition(type, type.Replace('-', '_') + "_media", "Test " + type) { RequiresSourceImage = false }, options)
{
    protected override ValueTask<GenerationSpec> PrepareCoreAsync(GenerationRequest request, string? prompt, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new GenerationSpec { Prompt = prompt ?? "test" });

    public override ProviderRequest CreateProviderRequest(GenerationJob job, ImageContent? sourceImage) => new()
    {
        JobId = job.Id,
        Type = job.Type,
        Prompt = job.Prompt ?? "test",
        SourceImage = sourceImage,
        Seed = SeedFor(job.Id),
    };
}

/// <summary>The real pipeline and worker over the in-memory store and local file storage.</summary>
internal sealed class PipelineHost : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task _worker = Task.CompletedTask;

    private PipelineHost()
    {
    }

    public required ServiceProvider Services { get; init; }

    public required InMemoryMediaStore Store { get; init; }

    public required TempDirectory Temp { get; init; }

    public IGenerationPipeline Pipeline => Services.GetRequiredService<IGenerationPipeline>();

    public static PipelineHost Start(Action<IStefnaBuilder> configure, Action<StefnaOptions>? options = null)
    {
        var store = new InMemoryMediaStore();
        var temp = new TempDirectory();
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        var builder = services.AddStefna(o =>
            {
                o.IdlePollInterval = TimeSpan.FromMilliseconds(50);
                o.ProviderPollInterval = TimeSpan.FromMilliseconds(30);
                options?.Invoke(o);
            })
            .UseMediaStore(_ => store)
            .UseLocalFileStorage(temp.Path);
        configure(builder);
        var provider = services.BuildServiceProvider();
        var host = new PipelineHost { Services = provider, Store = store, Temp = temp };
        host._worker = provider.GetRequiredService<GenerationWorker>().RunAsync(exitWhenIdle: false, host._stop.Token);
        return host;
    }

    public Task<ReadOnlyMemory<byte>> ReadImageAsync(GenerationJob job) =>
        Services.GetRequiredService<IAssetStorage>().ReadAsync(job.ImageUrl!, CancellationToken.None).AsTask();

    public async Task<GenerationJob> RunAsync(string type, string user = "user-1", string? prompt = null)
    {
        var ticket = await Pipeline.SubmitAsync(new GenerationRequest { Type = type, UserId = user, Prompt = prompt });
        return await Pipeline.WaitForCompletionAsync(type, ticket.Id, user, TimeSpan.FromSeconds(60));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _worker;
        await Services.DisposeAsync();
        Temp.Dispose();
        _stop.Dispose();
    }
}

/// <summary>A minimal Kestrel server on 127.0.0.1 for test providers.</summary>
internal sealed class LoopbackServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LoopbackServer(WebApplication app, Uri baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    public Uri BaseUrl { get; }

    public static async Task<LoopbackServer> StartAsync(Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new LoopbackServer(app, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
