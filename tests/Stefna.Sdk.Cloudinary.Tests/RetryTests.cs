using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;
using Stefna.Sdk.Testing.Fakes;
using Stefna.TestUtils;

namespace Stefna.Sdk.Cloudinary.Tests;

/// <summary>
/// Rate limits and server errors, retried through the client's Polly pipeline. The client and the emulator share a
/// <see cref="JumpingClock"/>: every wait the client asks for is recorded and passes at once, and every instant the
/// emulator records is exact, so these tests assert exact waits with no wall-clock margin.
/// </summary>
public sealed class RetryTests : IAsyncLifetime
{
    // A whole second, so an HTTP-date reset (whole seconds) lies exactly where the emulator puts it.
    private readonly JumpingClock _clock = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private CloudinaryEmulator _emulator = null!;

    public async Task InitializeAsync() => _emulator = await CloudinaryEmulator.StartAsync("demo", "key123", "emulator-secret", _clock);

    public async Task DisposeAsync() => await _emulator.DisposeAsync();

    [Fact]
    public async Task Rate_limited_uploads_wait_exactly_for_the_reset_and_each_retry_is_signed_with_a_fresh_timestamp()
    {
        using var provider = Build();
        _emulator.RateLimitNext(2, reset: "7");

        await provider.GetRequiredService<CloudinaryAssetStorage>().SaveAsync(StorageRequest(), CancellationToken.None);

        var uploads = _emulator.Requests;
        Assert.Equal([429, 429, 200], uploads.Select(r => r.StatusCode));
        Assert.Equal([TimeSpan.FromSeconds(7), TimeSpan.FromSeconds(7)], _clock.Waits);
        Assert.Equal([TimeSpan.FromSeconds(7), TimeSpan.FromSeconds(7)], uploads.Zip(uploads.Skip(1), (a, b) => b.ReceivedAt - a.ReceivedAt));
        // Re-signed per attempt: each timestamp is the clock at that attempt, and the last one verifies.
        var timestamps = uploads.Select(r => long.Parse(r.Fields["timestamp"], CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(uploads.Select(r => r.ReceivedAt.ToUnixTimeSeconds()), timestamps);
        Assert.Equal([7L, 7L], timestamps.Zip(timestamps.Skip(1), (a, b) => b - a));
        Assert.True(uploads[2].SignatureValid);
        Assert.Equal(2, provider.GetFakeLogCollector().GetSnapshot().Count(l => l.Message.Contains("rate limited", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task An_http_date_reset_is_waited_for_until_that_moment_and_420_counts_as_rate_limited()
    {
        using var provider = Build();
        _emulator.RateLimitNextUntil(1, TimeSpan.FromSeconds(3), status: 420);

        await provider.GetRequiredService<CloudinaryAssetStorage>().SaveAsync(StorageRequest(), CancellationToken.None);

        var uploads = _emulator.Requests;
        Assert.Equal([420, 200], uploads.Select(r => r.StatusCode));
        var reset = DateTimeOffset.ParseExact(uploads[0].RateLimitReset!, "R", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        Assert.Equal(uploads[0].ReceivedAt + TimeSpan.FromSeconds(3), reset);
        Assert.Equal([TimeSpan.FromSeconds(3)], _clock.Waits);
        Assert.Equal(reset, uploads[1].ReceivedAt);
    }

    [Fact]
    public async Task Without_a_reset_header_the_client_waits_one_second()
    {
        using var provider = Build();
        _emulator.RateLimitNext(1, reset: "");

        await provider.GetRequiredService<CloudinaryAssetStorage>().SaveAsync(StorageRequest(), CancellationToken.None);

        Assert.Equal([429, 200], _emulator.Requests.Select(r => r.StatusCode));
        Assert.Equal([TimeSpan.FromSeconds(1)], _clock.Waits);
    }

    [Fact]
    public async Task Rate_limits_beyond_MaxRateLimitRetries_surface_with_the_reset()
    {
        using var provider = Build(o => o.MaxRateLimitRetries = 2);
        _emulator.RateLimitNext(5, reset: "4");
        var client = provider.GetRequiredService<CloudinaryClient>();

        var ex = await Assert.ThrowsAsync<CloudinaryRateLimitedException>(() => client.UploadAsync(TestImages.Png(), "a.png", new CloudinaryUploadParameters(), CancellationToken.None));

        Assert.Equal(TimeSpan.FromSeconds(4), ex.RetryAfter);
        Assert.Equal(3, _emulator.Requests.Count);
        Assert.Equal([TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(4)], _clock.Waits);
    }

    [Fact]
    public async Task Server_errors_are_retried_with_exponential_backoff_then_surface()
    {
        using var provider = Build(o =>
        {
            o.MaxServerErrorRetries = 2;
            o.ServerErrorBackoff = TimeSpan.FromMilliseconds(300);
        });
        var storage = provider.GetRequiredService<CloudinaryAssetStorage>();

        _emulator.FailNext(2);
        await storage.SaveAsync(StorageRequest(), CancellationToken.None);
        Assert.Equal([503, 503, 200], _emulator.Requests.Select(r => r.StatusCode));
        Assert.Equal([TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(600)], _clock.Waits);

        _emulator.FailNext(10);
        var ex = await Assert.ThrowsAsync<GenerationException>(async () => await storage.SaveAsync(StorageRequest(), CancellationToken.None));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, Assert.IsType<CloudinaryException>(ex.InnerException).StatusCode);
        Assert.Equal(6, _emulator.Requests.Count);
        Assert.Equal(4, _clock.Waits.Count);
    }

    [Fact]
    public async Task With_no_retries_configured_the_first_answer_is_final()
    {
        using var provider = Build(o =>
        {
            o.MaxServerErrorRetries = 0;
            o.MaxRateLimitRetries = 0;
        });
        var client = provider.GetRequiredService<CloudinaryClient>();

        _emulator.FailNext(1);
        var failed = await Assert.ThrowsAsync<CloudinaryException>(() => client.UploadAsync(TestImages.Png(), "a.png", new CloudinaryUploadParameters(), CancellationToken.None));
        _emulator.RateLimitNext(1, reset: "1");
        await Assert.ThrowsAsync<CloudinaryRateLimitedException>(() => client.UploadAsync(TestImages.Png(), "a.png", new CloudinaryUploadParameters(), CancellationToken.None));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        Assert.Equal([503, 429], _emulator.Requests.Select(r => r.StatusCode));
        Assert.Empty(_clock.Waits);
    }

    [Fact]
    public async Task Refused_connections_are_retried_then_reported_without_user_info()
    {
        // A loopback port nobody listens on, held for the whole test so no parallel test's server can take it.
        using var refused = new RefusedPort();
        var port = refused.Port;
        using var provider = Build(o =>
        {
            o.ApiBaseUrl = $"http://proxyuser:proxy-password@127.0.0.1:{port}";
            o.MaxServerErrorRetries = 2;
            o.ServerErrorBackoff = TimeSpan.FromMilliseconds(100);
        });

        var ex = await Assert.ThrowsAsync<CloudinaryException>(() => provider.GetRequiredService<CloudinaryClient>().DestroyAsync("x", false, CancellationToken.None));

        Assert.Null(ex.StatusCode);
        Assert.Equal([TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200)], _clock.Waits);
        Assert.DoesNotContain("proxy-password", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("proxyuser", ex.Message, StringComparison.Ordinal);
        Assert.Contains("http://***@127.0.0.1", ex.Message, StringComparison.Ordinal);
    }

    private ServiceProvider Build(Action<CloudinaryOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddFakeLogging();
        services.AddSingleton<TimeProvider>(_clock);
        services.AddStefna().UseCloudinary(o =>
        {
            o.ApplyUrl(_emulator.CloudinaryUrl);
            o.ApiBaseUrl = _emulator.BaseUrl;
            o.DeliveryBaseUrl = _emulator.BaseUrl;
            configure?.Invoke(o);
        });
        return services.BuildServiceProvider();
    }

    private static Stefna.Sdk.Assets.AssetWriteRequest StorageRequest()
    {
        var png = TestImages.Png();
        return new()
        {
            Content = png,
            Info = Stefna.Sdk.Imaging.ImageInspector.Inspect(png),
            Kind = Stefna.Sdk.Assets.AssetKind.Result,
            Type = "neo-glitch",
            JobId = Guid.NewGuid(),
            UserId = "user-1",
            Tags = [],
        };
    }
}
