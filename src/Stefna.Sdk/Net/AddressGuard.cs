using System.Net;
using System.Net.Sockets;

namespace Stefna.Sdk.Net;

/// <summary>Resolves host names for the image URL guard. Replaceable so tests can map names to addresses without DNS.</summary>
public interface IHostAddressResolver
{
    /// <summary>Resolves a host name.</summary>
    /// <param name="host">The host name or address literal.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The addresses.</returns>
    Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken);
}

/// <summary>The system DNS resolver.</summary>
public sealed class DnsHostAddressResolver : IHostAddressResolver
{
    /// <inheritdoc />
    public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) =>
        IPAddress.TryParse(host, out var literal) ? Task.FromResult(new[] { literal }) : Dns.GetHostAddressesAsync(host, cancellationToken);
}

/// <summary>Classifies addresses that a user-given URL must not reach unless explicitly allowed.</summary>
public static class AddressGuard
{
    /// <summary>
    /// Whether an address is public (not loopback, private, link-local, unique-local, CGNAT, multicast, unspecified or
    /// reserved). IPv6 forms that carry an IPv4 address are judged by that address: IPv4-mapped <c>::ffff:0:0/96</c>,
    /// IPv4-translated <c>::ffff:0:0:0/96</c>, NAT64 <c>64:ff9b::/96</c> and 6to4 <c>2002::/16</c> (so
    /// <c>64:ff9b::a9fe:a9fe</c> is 169.254.169.254 and refused). Ranges whose target cannot be told from the address
    /// are refused outright: the deprecated IPv4-compatible <c>::/96</c>, local-use NAT64 <c>64:ff9b:1::/48</c> and
    /// Teredo <c>2001::/32</c>.
    /// </summary>
    /// <param name="address">The address.</param>
    /// <returns><see langword="true"/> for a public unicast address.</returns>
    public static bool IsPublic(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.None))
        {
            return false;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return !(b[0] == 0 || b[0] == 10 || b[0] == 127
                || (b[0] == 100 && b[1] >= 64 && b[1] <= 127)     // carrier-grade NAT
                || (b[0] == 169 && b[1] == 254)                   // link-local, cloud metadata
                || (b[0] == 172 && b[1] >= 16 && b[1] <= 31)
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 192 && b[1] == 0 && b[2] == 0)        // IETF protocol assignments
                || (b[0] == 198 && (b[1] == 18 || b[1] == 19))    // benchmarking
                || b[0] >= 224);                                  // multicast and reserved
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var b = address.GetAddressBytes();
            if (EmbeddedIPv4(b) is { } embedded)
            {
                return IsPublic(embedded);
            }

            return !(address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast
                || (b[0] & 0xFE) == 0xFC                          // unique local fc00::/7
                || address.IsIPv6Teredo                           // Teredo 2001::/32: tunnels to an address it hides
                || AllZero(b, 0, 12)                              // IPv4-compatible ::/96 (deprecated, RFC 4291)
                || (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B && b[4] == 0x00 && b[5] == 0x01)); // local-use NAT64 64:ff9b:1::/48 (RFC 8215)
        }

        return false;
    }

    // The IPv4 address an IPv6 address stands for, where its position is fixed by the prefix.
    private static IPAddress? EmbeddedIPv4(byte[] b)
    {
        // NAT64 well-known prefix 64:ff9b::/96 (RFC 6052): what DNS64 synthesises for an IPv4-only host.
        if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B && AllZero(b, 4, 8))
        {
            return new IPAddress(b.AsSpan(12, 4));
        }

        // IPv4-translated ::ffff:0:a.b.c.d (RFC 2765).
        if (AllZero(b, 0, 8) && b[8] == 0xFF && b[9] == 0xFF && b[10] == 0 && b[11] == 0)
        {
            return new IPAddress(b.AsSpan(12, 4));
        }

        // 6to4 2002:V4ADDR::/48 (RFC 3056).
        if (b[0] == 0x20 && b[1] == 0x02)
        {
            return new IPAddress(b.AsSpan(2, 4));
        }

        return null;
    }

    private static bool AllZero(byte[] b, int start, int count) => Array.TrueForAll(b[start..(start + count)], x => x == 0);
}
