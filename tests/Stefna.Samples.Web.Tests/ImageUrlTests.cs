using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Stefna.Sdk.Net;
using static Stefna.Samples.Web.Tests.ApiHelpers;

namespace Stefna.Samples.Web.Tests;

/// <summary>
/// Submitting by <c>imageUrl</c>. The sample keeps the SDK's guard (user URLs may only reach public addresses), so this
/// host replaces the <see cref="IImageAddressPolicy"/> with one that also accepts 127.0.0.1, where the test serves
/// the photo: everything else stays refused, and <c>AllowPrivateNetworkImageUrls</c> stays off.
/// </summary>
public sealed class ImageUrlTests : IClassFixture<ImageUrlTests.LoopbackImageHost>
{
    private readonly LoopbackImageHost _host;

    public ImageUrlTests(LoopbackImageHost host) => _host = host;

    [Fact]
    public async Task A_job_submitted_by_image_url_fetches_the_photo_and_completes_with_an_image()
    {
        using var alice = _host.App.Client();
        var url = new Uri(_host.ImagesBaseUrl, $"photos/{Guid.NewGuid():N}.png");

        var (location, body) = await SubmitAcceptedAsync(alice, "neo-glitch", image: null, ("imageUrl", url.AbsoluteUri), ("preset", "visor"));
        Assert.Equal("queued", body.Str("status"));
        var job = await WaitUntilFinishedAsync(alice, location);

        Assert.True(job.Str("status") == "completed", $"The job did not complete: {job}");
        Assert.Contains(url.AbsolutePath, _host.Requests);
        using var anonymous = _host.App.Client(apiKey: null);
        using var image = await anonymous.GetAsync(job.Str("imageUrl")!.TrimStart('/'));
        Assert.Equal(HttpStatusCode.OK, image.StatusCode);
        var bytes = await image.Content.ReadAsByteArrayAsync();
        Assert.Equal([0x89, 0x50, 0x4E, 0x47], bytes[..4]);
        Assert.NotEqual(Portrait(), bytes);
    }

    [Fact]
    public async Task An_image_url_on_a_private_address_is_still_refused()
    {
        using var alice = _host.App.Client();

        // 10.0.0.1 is never connected to: the policy refuses it at submit, before any connection.
        using var response = await SubmitAsync(alice, "neo-glitch", null, ("imageUrl", "http://10.0.0.1/photo.png"));

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request.url_private_address", problem.Str("code"));
    }

    /// <summary>Accepts 127.0.0.1 as well as the default rule's public addresses.</summary>
    private sealed class LoopbackAllowedPolicy : IImageAddressPolicy
    {
        public bool IsAllowed(IPAddress address) => address.Equals(IPAddress.Loopback) || AddressGuard.IsPublic(address);
    }

    /// <summary>The sample app with the loopback policy, plus a Kestrel server on 127.0.0.1 serving the portrait.</summary>
    public sealed class LoopbackImageHost : IAsyncLifetime
    {
        private readonly ConcurrentQueue<string> _requests = new();
        private WebApplication? _images;

        public WebAppFixture App { get; } = new()
        {
            Configure = b => b.Services.Replace(ServiceDescriptor.Singleton<IImageAddressPolicy, LoopbackAllowedPolicy>()),
        };

        public Uri ImagesBaseUrl { get; private set; } = null!;

        public IReadOnlyCollection<string> Requests => [.. _requests];

        public async Task InitializeAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            _images = builder.Build();
            var portrait = Portrait();
            _images.MapGet("/photos/{name}", (HttpContext context, string name) =>
            {
                _requests.Enqueue(context.Request.Path.Value!);
                return Results.Bytes(portrait, "image/png");
            });
            await _images.StartAsync();
            ImagesBaseUrl = new Uri(_images.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/') + "/");
            await App.InitializeAsync();
        }

        public async Task DisposeAsync()
        {
            await App.DisposeAsync();
            if (_images is not null)
            {
                await _images.DisposeAsync();
            }
        }
    }
}
