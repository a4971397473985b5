using System.Net;
using Microsoft.Extensions.Options;
using Stefna.Sdk;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Net;

namespace Stefna.Sdk.Tests;

public class AddressGuardTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.8.9.10")]
    [InlineData("::1")]
    [InlineData("10.1.2.3")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.255")]
    [InlineData("192.168.1.1")]
    [InlineData("169.254.169.254")]
    [InlineData("100.64.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("224.0.0.1")]
    [InlineData("fe80::1")]
    [InlineData("fd00::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("::ffff:169.254.169.254")]
    public void Non_public_addresses_are_refused(string address) =>
        Assert.False(AddressGuard.IsPublic(IPAddress.Parse(address)));

    [Theory]
    [InlineData("93.184.216.34")]
    [InlineData("8.8.8.8")]
    [InlineData("172.32.0.1")]
    [InlineData("2606:4700:4700::1111")]
    public void Public_addresses_are_allowed(string address) =>
        Assert.True(AddressGuard.IsPublic(IPAddress.Parse(address)));

    /// <summary>Maps test host names to addresses, so the guard is exercised without DNS and without any connection.</summary>
    private sealed class MapResolver(Dictionary<string, IPAddress[]> map) : IHostAddressResolver
    {
        public int Calls { get; private set; }

        public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
        {
            Calls++;
            return Task.FromResult(map.TryGetValue(host, out var a) ? a : throw new System.Net.Sockets.SocketException(11001));
        }
    }

    private static ImageFetcher Fetcher(MapResolver resolver, bool allowPrivate = false) =>
        new(resolver, Options.Create(new StefnaOptions { AllowPrivateNetworkImageUrls = allowPrivate }));

    [Theory]
    [InlineData("http://metadata.test/latest/meta-data/", "169.254.169.254")]
    [InlineData("http://intranet.test/x.png", "10.0.0.5")]
    [InlineData("http://home.test/x.png", "192.168.0.10")]
    [InlineData("http://loop.test/x.png", "127.0.0.1")]
    [InlineData("http://loop6.test/x.png", "::1")]
    public async Task Urls_resolving_to_non_public_addresses_are_refused_before_connecting(string url, string address)
    {
        var resolver = new MapResolver(new() { [new Uri(url).Host] = [IPAddress.Parse(address)] });
        using var fetcher = Fetcher(resolver);
        var ex = await Assert.ThrowsAsync<GenerationValidationException>(() => fetcher.FetchAsync(new Uri(url), CancellationToken.None));
        Assert.Equal("invalid_request.url_private_address", ex.Code);
        Assert.Equal(1, resolver.Calls); // resolved once for the check, never connected
    }

    [Fact]
    public async Task A_host_with_one_private_address_among_public_ones_is_refused()
    {
        var resolver = new MapResolver(new() { ["mixed.test"] = [IPAddress.Parse("93.184.216.34"), IPAddress.Parse("10.0.0.1")] });
        using var fetcher = Fetcher(resolver);
        await Assert.ThrowsAsync<GenerationValidationException>(() => fetcher.EnsureAllowedAsync(new Uri("https://mixed.test/a.png"), CancellationToken.None));
    }

    [Theory]
    [InlineData("file:///etc/passwd")]
    [InlineData("ftp://example.test/a.png")]
    [InlineData("gopher://example.test/")]
    public async Task Non_http_schemes_are_refused(string url)
    {
        using var fetcher = Fetcher(new MapResolver([]));
        var ex = await Assert.ThrowsAsync<GenerationValidationException>(() => fetcher.FetchAsync(new Uri(url), CancellationToken.None));
        Assert.Equal("invalid_request.url_scheme", ex.Code);
    }

    [Fact]
    public async Task Public_addresses_pass_the_check()
    {
        var resolver = new MapResolver(new() { ["cdn.test"] = [IPAddress.Parse("93.184.216.34")] });
        using var fetcher = Fetcher(resolver);
        await fetcher.EnsureAllowedAsync(new Uri("https://cdn.test/a.png"), CancellationToken.None);
    }

    [Fact]
    public async Task Private_addresses_pass_only_when_explicitly_allowed()
    {
        var resolver = new MapResolver(new() { ["intranet.test"] = [IPAddress.Parse("10.0.0.5")] });
        using var fetcher = Fetcher(resolver, allowPrivate: true);
        await fetcher.EnsureAllowedAsync(new Uri("http://intranet.test/a.png"), CancellationToken.None);
    }
}
