using System.Net;
using Stefna.Sdk.Net;

namespace Stefna.Reliability.Tests;

/// <summary>
/// The SSRF guard's address check (<see cref="AddressGuard.IsPublic"/>) on IPv6 forms that carry or tunnel to an IPv4
/// address: judged by the embedded IPv4 address where the prefix fixes its position (NAT64 64:ff9b::/96, 6to4
/// 2002::/16, IPv4-translated ::ffff:0:0:0/96), refused outright where it cannot be told (IPv4-compatible ::/96,
/// local-use NAT64 64:ff9b:1::/48, Teredo 2001::/32). Pure address checks: nothing connects anywhere.
/// </summary>
public sealed class EmbeddedIPv4AddressTests
{
    [Theory]
    // NAT64 well-known prefix embedding non-public IPv4.
    [InlineData("64:ff9b::a9fe:a9fe", "NAT64 of 169.254.169.254")]
    [InlineData("64:ff9b::169.254.169.254", "NAT64 of 169.254.169.254, dotted")]
    [InlineData("64:ff9b::7f00:1", "NAT64 of 127.0.0.1")]
    [InlineData("64:ff9b::10.0.0.1", "NAT64 of 10.0.0.1")]
    [InlineData("64:ff9b::192.168.1.1", "NAT64 of 192.168.1.1")]
    [InlineData("64:ff9b::100.64.0.1", "NAT64 of CGNAT")]
    [InlineData("64:ff9b::0.0.0.0", "NAT64 of 0.0.0.0")]
    // 6to4 embedding non-public IPv4 in bits 16-47.
    [InlineData("2002:a9fe:a9fe::1", "6to4 of 169.254.169.254")]
    [InlineData("2002:7f00:1::", "6to4 of 127.0.0.1")]
    [InlineData("2002:0a00:0001:1::1", "6to4 of 10.0.0.1")]
    [InlineData("2002:ac10:0001::", "6to4 of 172.16.0.1")]
    [InlineData("2002:c0a8:0101::5", "6to4 of 192.168.1.1")]
    // IPv4-translated (SIIT) embedding non-public IPv4.
    [InlineData("::ffff:0:a9fe:a9fe", "IPv4-translated 169.254.169.254")]
    [InlineData("::ffff:0:7f00:1", "IPv4-translated 127.0.0.1")]
    // Refused outright, whatever they carry.
    [InlineData("::169.254.169.254", "IPv4-compatible 169.254.169.254")]
    [InlineData("::10.0.0.1", "IPv4-compatible 10.0.0.1")]
    [InlineData("::127.0.0.1", "IPv4-compatible 127.0.0.1")]
    [InlineData("::8.8.8.8", "IPv4-compatible public (deprecated form, refused outright)")]
    [InlineData("64:ff9b:1::a9fe:a9fe", "local-use NAT64 of 169.254.169.254")]
    [InlineData("64:ff9b:1:ffff::808:808", "local-use NAT64, any content")]
    [InlineData("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo")]
    [InlineData("2001::a9fe:a9fe", "Teredo with the metadata address in its low bits")]
    public void IPv6_forms_reaching_a_non_public_IPv4_address_are_refused(string address, string what) =>
        Assert.False(AddressGuard.IsPublic(IPAddress.Parse(address)), $"{what} ({address}) was allowed");

    [Theory]
    [InlineData("64:ff9b::808:808", "NAT64 of 8.8.8.8 (DNS64 on an IPv6-only network)")]
    [InlineData("64:ff9b::93.184.216.34", "NAT64 of a public host")]
    [InlineData("2002:808:808::1", "6to4 of 8.8.8.8")]
    [InlineData("::ffff:0:808:808", "IPv4-translated 8.8.8.8")]
    [InlineData("2606:4700:4700::1111", "plain public IPv6")]
    [InlineData("2001:4860:4860::8888", "public IPv6 next to Teredo (2001:4860::/32, not 2001::/32)")]
    [InlineData("64:ff9b:2::1", "outside both NAT64 prefixes")]
    public void The_same_forms_carrying_a_public_IPv4_address_are_allowed(string address, string what) =>
        Assert.True(AddressGuard.IsPublic(IPAddress.Parse(address)), $"{what} ({address}) was refused");
}
