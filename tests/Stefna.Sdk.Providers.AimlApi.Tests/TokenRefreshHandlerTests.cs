using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Stefna.Sdk.Http;

namespace Stefna.Sdk.Providers.AimlApi.Tests;

public sealed class TokenRefreshHandlerTests
{
    [Fact]
    public async Task One_hundred_concurrent_requests_with_an_expired_token_cause_exactly_one_refresh()
    {
        await using var server = await AuthServer.StartAsync();
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2025-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var source = new CountingSource(time, lifetime: TimeSpan.FromMinutes(10), delay: TimeSpan.FromMilliseconds(100));
        using var http = Client(new TokenRefreshHandler(source, time, TimeSpan.FromSeconds(30)));

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(server.Url)).StatusCode);
        Assert.Equal(1, source.Calls);

        time.Advance(TimeSpan.FromMinutes(10));
        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => http.GetAsync(server.Url)));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(2, source.Calls);
        Assert.Equal(101, server.Requests.Count);
        Assert.Equal(100, server.Requests.Count(r => r.Authorization == "Bearer token-2"));
    }

    [Fact]
    public async Task A_401_refreshes_once_and_resends_the_same_request_once()
    {
        await using var server = await AuthServer.StartAsync();
        server.Rejected.Add("Bearer token-1");
        var source = new CountingSource(TimeProvider.System, TimeSpan.FromHours(1));
        using var http = Client(new TokenRefreshHandler(source));

        using var response = await http.PostAsync(server.Url, new StringContent("""{"prompt":"resend me"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["Bearer token-1", "Bearer token-2"], server.Requests.Select(r => r.Authorization));
        Assert.All(server.Requests, r => Assert.Equal("""{"prompt":"resend me"}""", r.Body));
        Assert.All(server.Requests, r => Assert.StartsWith("application/json", r.ContentType, StringComparison.Ordinal));
        Assert.Equal([false, true], source.Forced);
    }

    [Fact]
    public async Task A_second_401_is_returned_without_further_refreshes_or_retries()
    {
        await using var server = await AuthServer.StartAsync();
        server.RejectAll = true;
        var source = new CountingSource(TimeProvider.System, TimeSpan.FromHours(1));
        using var http = Client(new TokenRefreshHandler(source));

        using var response = await http.GetAsync(server.Url);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(2, server.Requests.Count);
        Assert.Equal(2, source.Calls);
    }

    [Fact]
    public async Task Concurrent_401s_for_the_same_token_share_one_refresh()
    {
        await using var server = await AuthServer.StartAsync();
        server.Rejected.Add("Bearer token-1");
        var source = new CountingSource(TimeProvider.System, TimeSpan.FromHours(1), delay: TimeSpan.FromMilliseconds(100));
        using var http = Client(new TokenRefreshHandler(source));
        Assert.Equal("token-1", (await new AccessTokenCache(source).GetAsync(CancellationToken.None)).Token.Value); // warms nothing: a separate cache
        source.Reset();

        var responses = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => http.GetAsync(server.Url)));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(2, source.Calls); // the first read, then one forced refresh for all 30 rejections
        Assert.Equal(30, server.Requests.Count(r => r.Authorization == "Bearer token-2"));
    }

    [Fact]
    public async Task A_token_is_refreshed_only_once_inside_the_expiry_skew()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2025-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var source = new CountingSource(time, lifetime: TimeSpan.FromSeconds(60));
        var cache = new AccessTokenCache(source, time, TimeSpan.FromSeconds(10));

        Assert.Equal("token-1", (await cache.GetAsync(CancellationToken.None)).Token.Value);
        time.Advance(TimeSpan.FromSeconds(49));
        Assert.Equal("token-1", (await cache.GetAsync(CancellationToken.None)).Token.Value);
        Assert.Equal(1, source.Calls);

        // 51 s in: 9 s of validity left, less than the 10 s skew, so the token counts as expired.
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal("token-2", (await cache.GetAsync(CancellationToken.None)).Token.Value);
        Assert.Equal(2, source.Calls);
        Assert.Equal([false, false], source.Forced);
    }

    [Fact]
    public async Task A_failed_refresh_fails_the_waiting_requests_and_the_next_request_tries_again()
    {
        var source = new CountingSource(TimeProvider.System, TimeSpan.FromHours(1)) { FailNext = true };
        var cache = new AccessTokenCache(source);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await cache.GetAsync(CancellationToken.None));
        Assert.Equal("token-2", (await cache.GetAsync(CancellationToken.None)).Token.Value);
    }

    [Fact]
    public async Task AddTokenRefresh_wires_the_handler_into_a_named_client_with_one_shared_cache()
    {
        await using var server = await AuthServer.StartAsync();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(new CountingSource(TimeProvider.System, TimeSpan.FromHours(1)));
        services.AddHttpClient("tokens").AddTokenRefresh<CountingSource>(o => o.Scheme = "Token");
        await using var provider = services.BuildServiceProvider();
        var factory = provider.GetRequiredService<IHttpClientFactory>();
        await factory.CreateClient("tokens").GetAsync(server.Url);
        await factory.CreateClient("tokens").GetAsync(server.Url);
        Assert.Equal(["Token token-1", "Token token-1"], server.Requests.Select(r => r.Authorization));
        Assert.Equal(1, provider.GetRequiredService<CountingSource>().Calls);
    }

    [Fact]
    public async Task AddTokenRefresh_keeps_the_token_out_of_every_log_entry_even_at_trace()
    {
        await using var server = await AuthServer.StartAsync();
        server.Rejected.Add("Bearer token-1"); // a 401 first, so the refresh path (which logs) runs too
        var collector = new FakeLogCollector();
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider(collector)));
        services.AddSingleton(new CountingSource(TimeProvider.System, TimeSpan.FromHours(1)));
        services.AddHttpClient("tokens").AddTokenRefresh<CountingSource>();
        await using var provider = services.BuildServiceProvider();

        var response = await provider.GetRequiredService<IHttpClientFactory>().CreateClient("tokens").GetAsync(server.Url);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["Bearer token-1", "Bearer token-2"], server.Requests.Select(r => r.Authorization));
        var records = collector.GetSnapshot();
        Assert.Contains(records, r => r.Id.Id == 2101); // the handler logged the refresh, so the check below has material
        foreach (var record in records)
        {
            foreach (var text in (record.StructuredState ?? []).Select(p => p.Value ?? "").Append(record.Message))
            {
                Assert.DoesNotContain("token-1", text, StringComparison.Ordinal);
                Assert.DoesNotContain("token-2", text, StringComparison.Ordinal);
            }
        }
    }

    private static HttpClient Client(DelegatingHandler handler)
    {
        handler.InnerHandler = new SocketsHttpHandler();
        return new HttpClient(handler);
    }

    internal sealed class CountingSource(TimeProvider time, TimeSpan lifetime, TimeSpan? delay = null) : IAccessTokenSource
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public ConcurrentQueue<bool> Forced { get; } = new();

        public bool FailNext { get; set; }

        public void Reset()
        {
            _calls = 0;
            Forced.Clear();
        }

        public async ValueTask<AccessToken> GetTokenAsync(bool forceRefresh, CancellationToken cancellationToken)
        {
            var n = Interlocked.Increment(ref _calls);
            Forced.Enqueue(forceRefresh);
            if (delay is { } d)
            {
                await Task.Delay(d, cancellationToken);
            }

            if (FailNext)
            {
                FailNext = false;
                throw new InvalidOperationException("token endpoint down");
            }

            return new AccessToken($"token-{n}", time.GetUtcNow() + lifetime);
        }
    }

    private sealed record Received(string? Authorization, string? ContentType, string Body);

    /// <summary>A loopback server that answers 401 to rejected Authorization values and 200 otherwise.</summary>
    private sealed class AuthServer : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentQueue<Received> _requests = new();

        private AuthServer(WebApplication app) => _app = app;

        public Uri Url { get; private set; } = null!;

        public ConcurrentBag<string> Rejected { get; } = [];

        public bool RejectAll { get; set; }

        public IReadOnlyList<Received> Requests => [.. _requests];

        public static async Task<AuthServer> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var server = new AuthServer(app);
            app.Map("/", async (HttpContext context) =>
            {
                using var reader = new StreamReader(context.Request.Body);
                var body = await reader.ReadToEndAsync();
                var auth = context.Request.Headers.Authorization.ToString();
                server._requests.Enqueue(new Received(auth, context.Request.ContentType, body));
                context.Response.StatusCode = server.RejectAll || server.Rejected.Contains(auth) ? 401 : 200;
            });
            await app.StartAsync();
            server.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
            return server;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
