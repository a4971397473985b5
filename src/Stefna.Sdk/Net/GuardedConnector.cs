using System.Net.Sockets;

namespace Stefna.Sdk.Net;

/// <summary>Connects HTTP requests only to addresses the guard allows, resolving the host itself so the address
/// connected to is the address checked (no DNS rebinding between check and connect). Shared by the image fetcher and
/// the webhook delivery.</summary>
internal static class GuardedConnector
{
    /// <summary>A handler that connects through the guard, follows no redirect and uses no proxy.</summary>
    public static SocketsHttpHandler CreateHandler(IHostAddressResolver resolver, IImageAddressPolicy policy, Func<bool> allowPrivate) => new()
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectCallback = (context, cancellationToken) => ConnectAsync(resolver, policy, allowPrivate(), context, cancellationToken),
    };

    private static async ValueTask<Stream> ConnectAsync(IHostAddressResolver resolver, IImageAddressPolicy policy, bool allowPrivate, SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var addresses = await resolver.ResolveAsync(context.DnsEndPoint.Host, cancellationToken).ConfigureAwait(false);
        var allowed = allowPrivate ? addresses : Array.FindAll(addresses, policy.IsAllowed);
        if (allowed.Length == 0 || (!allowPrivate && allowed.Length != addresses.Length))
        {
            throw new HttpRequestException($"The host '{context.DnsEndPoint.Host}' resolves to a non-public address.");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
