using System.Net;

namespace Stefna.Sdk.Net;

/// <summary>
/// Decides which resolved addresses a user-given image URL may reach (checked by <see cref="ImageFetcher"/> before
/// every connection and on every redirect hop, unless <see cref="Configuration.StefnaOptions.AllowPrivateNetworkImageUrls"/>).
/// The default, <see cref="PublicAddressPolicy"/>, allows public unicast addresses only. Replace it (register your
/// own before <c>AddStefna()</c>, or after it with <c>services.Replace</c>) only to widen or narrow that rule on purpose,
/// for example so a test can declare its loopback server "public" while everything else stays refused.
/// </summary>
public interface IImageAddressPolicy
{
    /// <summary>Whether an address may be connected to.</summary>
    /// <param name="address">A resolved address of the URL's host.</param>
    /// <returns><see langword="true"/> when allowed.</returns>
    bool IsAllowed(IPAddress address);
}

/// <summary>The default <see cref="IImageAddressPolicy"/>: only addresses <see cref="AddressGuard.IsPublic"/> accepts.</summary>
public sealed class PublicAddressPolicy : IImageAddressPolicy
{
    /// <inheritdoc />
    public bool IsAllowed(IPAddress address) => AddressGuard.IsPublic(address);
}
