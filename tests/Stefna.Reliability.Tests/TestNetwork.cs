using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Stefna.Sdk.Net;

namespace Stefna.Reliability.Tests;

/// <summary>
/// Maps test host names to addresses without DNS (an unknown name fails like an unresolvable one, so nothing ever
/// leaves the machine) and counts lookups: the fetcher resolves once to check and once more to connect, so a host
/// looked up exactly once was refused before any connection was attempted.
/// </summary>
internal sealed class MapResolver : IHostAddressResolver
{
    private readonly ConcurrentDictionary<string, int> _lookups = new(StringComparer.OrdinalIgnoreCase);

    public static readonly IReadOnlyDictionary<string, IPAddress[]> Names = new Dictionary<string, IPAddress[]>(StringComparer.OrdinalIgnoreCase)
    {
        ["loopback.test"] = [IPAddress.Loopback],
        ["loopback6.test"] = [IPAddress.IPv6Loopback],
        ["mapped-loopback.test"] = [IPAddress.Parse("::ffff:127.0.0.1")],
        ["metadata.test"] = [IPAddress.Parse("169.254.169.254")],
        ["private10.test"] = [IPAddress.Parse("10.1.2.3")],
        ["private172.test"] = [IPAddress.Parse("172.16.5.4")],
        ["private192.test"] = [IPAddress.Parse("192.168.1.20")],
        ["cgnat.test"] = [IPAddress.Parse("100.64.0.7")],
        ["unique-local.test"] = [IPAddress.Parse("fd00::1")],
        ["unspecified.test"] = [IPAddress.Any],
        ["nat64-metadata.test"] = [IPAddress.Parse("64:ff9b::a9fe:a9fe")],
        ["sixtofour-private.test"] = [IPAddress.Parse("2002:a00:1::1")],
        ["v4compat-metadata.test"] = [IPAddress.Parse("::169.254.169.254")],
        // One public and one private address: a host is refused when ANY of its addresses is not allowed.
        ["mixed.test"] = [IPAddress.Parse("203.0.113.9"), IPAddress.Parse("10.0.0.9")],
        // The loopback server the redirect test declares "public" through its address policy.
        ["public.test"] = [IPAddress.Loopback],
    };

    /// <summary>Lookups of a host; an IPv6 literal counts the same with or without brackets (the check passes the
    /// URL's host, the connection its endpoint's), so literal hosts are counted too.</summary>
    public int Lookups(string host) => _lookups.GetValueOrDefault(Key(host));

    public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        _lookups.AddOrUpdate(Key(host), 1, (_, n) => n + 1);
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal))
        {
            return Task.FromResult(new[] { literal });
        }

        return Names.TryGetValue(host, out var addresses)
            ? Task.FromResult(addresses)
            : throw new SocketException((int)SocketError.HostNotFound);
    }

    private static string Key(string host) => host.Trim('[', ']');
}

/// <summary>An address policy for the redirect test: the default rule, plus 127.0.0.1 declared public.</summary>
internal sealed class LoopbackIsPublicPolicy : IImageAddressPolicy
{
    public bool IsAllowed(IPAddress address) => address.Equals(IPAddress.Loopback) || AddressGuard.IsPublic(address);
}

/// <summary>For the lookup-count control only: 127.0.0.1 and ::1 declared public.</summary>
internal sealed class AnyLoopbackIsPublicPolicy : IImageAddressPolicy
{
    public bool IsAllowed(IPAddress address) => IPAddress.IsLoopback(address) || AddressGuard.IsPublic(address);
}

/// <summary>A Kestrel server on 127.0.0.1 that records every request it receives.</summary>
internal sealed class RecordingServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<string> _requests = new();

    private RecordingServer(WebApplication app) => _app = app;

    public Uri BaseUrl { get; private set; } = null!;

    public int Port => BaseUrl.Port;

    public IReadOnlyList<string> Requests => [.. _requests];

    public static async Task<RecordingServer> StartAsync(Func<HttpContext, Task> handle)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new RecordingServer(app);
        app.Run(async context =>
        {
            server._requests.Enqueue(context.Request.Host + context.Request.Path);
            await handle(context);
        });
        await app.StartAsync();
        server.BaseUrl = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
