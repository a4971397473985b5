using System.Net;
using System.Net.Sockets;

namespace Stefna.TestUtils;

/// <summary>
/// A loopback port that refuses connections for as long as this object lives: a socket is bound to it without listening
/// (with <c>SO_REUSEADDR</c> off), so no other socket in any process can bind the port meanwhile (a parallel test's
/// server picking a free port cannot take it) and a connect to it is refused. A port taken from a stopped listener
/// gives no such guarantee.
/// </summary>
public sealed class RefusedPort : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    /// <summary>Binds a free port on 127.0.0.1.</summary>
    public RefusedPort()
    {
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        // .NET sets SO_REUSEADDR when it binds a TCP socket on Unix; turned off after the bind, no other socket can
        // bind the port (Linux shares a port only when every socket bound to it allows it).
        _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, false);
        Port = ((IPEndPoint)_socket.LocalEndPoint!).Port;
    }

    /// <summary>The port.</summary>
    public int Port { get; }

    /// <inheritdoc />
    public void Dispose() => _socket.Dispose();
}
