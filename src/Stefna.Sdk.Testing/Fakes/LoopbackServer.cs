using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Stefna.Sdk.Testing.Fakes;

/// <summary>The Kestrel server on a free 127.0.0.1 port behind the kit's provider emulators, with the
/// <c>/files/{name}</c> route that serves their generated image when they answer with a URL.</summary>
internal sealed class LoopbackServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _downloads;

    private LoopbackServer(WebApplication app) => _app = app;

    /// <summary>The server's root, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>How many times a file was downloaded.</summary>
    public int Downloads => Volatile.Read(ref _downloads);

    /// <summary>Starts the server with the emulator's routes.</summary>
    /// <param name="map">Maps the emulator's API routes.</param>
    /// <param name="image">The bytes served under <c>/files/</c> (read at each download).</param>
    public static async Task<LoopbackServer> StartAsync(Action<WebApplication> map, Func<byte[]> image)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new LoopbackServer(app);
        map(app);
        app.MapGet("/files/{name}", (string name) =>
        {
            Interlocked.Increment(ref server._downloads);
            return Results.Bytes(image(), "image/png");
        });
        await app.StartAsync().ConfigureAwait(false);
        server.Address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return server;
    }

    /// <summary>A fresh URL under <c>/files/</c>.</summary>
    public string NewFileUrl() => new Uri(Address, $"/files/{Guid.NewGuid():N}.png").AbsoluteUri;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
