using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Configuration;

namespace Stefna.Sdk.Net;

/// <summary>
/// Downloads user-given image URLs safely: http(s) only, every address the host resolves to checked by
/// <see cref="IImageAddressPolicy"/> (by default <see cref="AddressGuard"/>) before any connection (unless <see cref="StefnaOptions.AllowPrivateNetworkImageUrls"/>),
/// the connection pinned to the checked address so DNS cannot change between check and connect, redirects
/// followed by hand and checked again, and the body capped at <see cref="StefnaOptions.MaxImageBytes"/>.
/// </summary>
public sealed class ImageFetcher : IDisposable
{
    private const int MaxRedirects = 3;
    private readonly IHostAddressResolver _resolver;
    private readonly IImageAddressPolicy _policy;
    private readonly StefnaOptions _options;
    private readonly HttpClient _client;

    /// <summary>Creates the fetcher.</summary>
    /// <param name="resolver">The host name resolver.</param>
    /// <param name="options">The SDK options.</param>
    public ImageFetcher(IHostAddressResolver resolver, IOptions<StefnaOptions> options)
        : this(resolver, new PublicAddressPolicy(), options)
    {
    }

    /// <summary>Creates the fetcher with an address policy of its own.</summary>
    /// <param name="resolver">The host name resolver.</param>
    /// <param name="policy">Which resolved addresses may be reached (the default allows public addresses only).</param>
    /// <param name="options">The SDK options.</param>
    public ImageFetcher(IHostAddressResolver resolver, IImageAddressPolicy policy, IOptions<StefnaOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _resolver = resolver ?? throw new ArgumentNullException(nameof(resolver));
        _policy = policy ?? throw new ArgumentNullException(nameof(policy));
        _options = options.Value;
        var handler = GuardedConnector.CreateHandler(_resolver, _policy, () => _options.AllowPrivateNetworkImageUrls);
        _client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>Downloads an image URL.</summary>
    /// <param name="url">The URL.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    /// <returns>The body.</returns>
    /// <exception cref="GenerationValidationException">The URL is refused, unreachable, too large or not OK.</exception>
    public async Task<byte[]> FetchAsync(Uri url, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.ImageFetchTimeout);
        var current = url;
        try
        {
            for (var hop = 0; hop <= MaxRedirects; hop++)
            {
                await EnsureAllowedAsync(current, timeout.Token).ConfigureAwait(false);
                using var request = new HttpRequestMessage(HttpMethod.Get, current);
                using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
                if ((int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is { } location)
                {
                    current = location.IsAbsoluteUri ? location : new Uri(current, location);
                    continue;
                }

                if (!response.IsSuccessStatusCode)
                {
                    throw Refused("fetch_failed", $"The image URL answered {(int)response.StatusCode} {response.ReasonPhrase}.");
                }

                if (response.Content.Headers.ContentLength > _options.MaxImageBytes)
                {
                    throw TooLarge();
                }

                return await ReadCappedAsync(response, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw Refused("fetch_timeout", $"The image URL did not answer within {_options.ImageFetchTimeout.TotalSeconds:0} s.");
        }
        catch (HttpRequestException ex)
        {
            throw Refused("fetch_failed", $"The image URL could not be fetched: {ex.Message}");
        }

        throw Refused("too_many_redirects", $"The image URL redirected more than {MaxRedirects} times.");
    }

    /// <summary>Checks a URL against the scheme and address rules without fetching it.</summary>
    /// <param name="url">The URL.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>A task that completes when the URL is allowed.</returns>
    /// <exception cref="GenerationValidationException">The URL is refused.</exception>
    public async Task EnsureAllowedAsync(Uri url, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            throw Refused("url_scheme", $"Image URLs must be http or https; '{(url.IsAbsoluteUri ? url.Scheme : "relative")}' is not allowed.");
        }

        if (_options.AllowPrivateNetworkImageUrls)
        {
            return;
        }

        IPAddress[] addresses;
        try
        {
            addresses = await _resolver.ResolveAsync(url.IdnHost, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            throw Refused("url_unresolved", $"The image URL's host '{url.Host}' could not be resolved: {ex.Message}");
        }

        if (addresses.Length == 0 || Array.Exists(addresses, a => !_policy.IsAllowed(a)))
        {
            throw Refused("url_private_address", $"The image URL's host '{url.Host}' resolves to a loopback, private or link-local address, which is not allowed.");
        }
    }

    /// <inheritdoc />
    public void Dispose() => _client.Dispose();

    private async Task<byte[]> ReadCappedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > _options.MaxImageBytes)
            {
                throw TooLarge();
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private GenerationValidationException TooLarge() =>
        Refused("image_too_large", $"The image is larger than the {_options.MaxImageBytes:N0}-byte limit.");

    private static GenerationValidationException Refused(string code, string message) => new("image", message, code);
}
