using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Stefna.Sdk.Internal;
using Stefna.Sdk.Providers;
using Stefna.Sdk.Providers.Middleware;

namespace Stefna.Sdk.Tests.Providers;

/// <summary>Provider middleware: the builder's layering, the built-in logging, caching and rate limiting, and the
/// per-type registration.</summary>
public sealed class ProviderMiddlewareTests
{
    private sealed class Recording(IImageProvider inner, string label, List<string> order) : DelegatingImageProvider(inner)
    {
        public override ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken)
        {
            order.Add(label);
            return base.SubmitAsync(request, cancellationToken);
        }
    }

    [Fact]
    public async Task The_first_layer_added_is_the_outermost_and_the_name_is_the_inner_providers()
    {
        var order = new List<string>();
        var inner = new ScriptedProvider("inner");

        var provider = new ImageProviderBuilder(inner)
            .Use(p => new Recording(p, "outer", order))
            .Use(p => new Recording(p, "middle", order))
            .Build();
        await provider.SubmitAsync(ScriptedProvider.Request(), CancellationToken.None);

        Assert.Equal(["outer", "middle"], order);
        Assert.Equal(1, inner.Calls);
        Assert.Equal("inner", provider.Name);
    }

    [Fact]
    public async Task Requests_per_minute_holds_the_call_over_the_cap_until_the_window_slides_and_refuses_past_the_queue()
    {
        var time = new FakeTimeProvider();
        var inner = new ScriptedProvider("inner");
        using var services = new ServiceCollection().AddSingleton<TimeProvider>(time).BuildServiceProvider();
        var provider = new ImageProviderBuilder(inner).UseRequestsPerMinute(2, queueLimit: 1).Build(services);

        await provider.SubmitAsync(ScriptedProvider.Request(), CancellationToken.None);
        await provider.SubmitAsync(ScriptedProvider.Request(), CancellationToken.None);
        var third = provider.SubmitAsync(ScriptedProvider.Request(), CancellationToken.None).AsTask();
        var refused = await Assert.ThrowsAsync<ProviderRetryAfterException>(async () => await provider.SubmitAsync(ScriptedProvider.Request(), CancellationToken.None));

        Assert.False(third.IsCompleted);
        Assert.Equal(2, inner.Calls);
        Assert.Equal(TimeSpan.FromMinutes(1), refused.RetryAfter); // when the first permit leaves the window

        time.Advance(TimeSpan.FromSeconds(50)); // the two permits taken at 0 s are still inside the one-minute window
        Assert.False(third.IsCompleted);
        Assert.Equal(2, inner.Calls);

        time.Advance(TimeSpan.FromSeconds(10)); // 60 s: the window has slid past them
        await third.WaitAsync(TimeSpan.FromSeconds(30)); // a guard against a hang, not a timing margin
        Assert.Equal(3, inner.Calls);
        ((IDisposable)provider).Dispose();
    }

    [Fact]
    public async Task The_limiter_counts_any_sixty_seconds_and_a_canceled_waiter_gives_its_place_back()
    {
        var time = new FakeTimeProvider();
        using var limiter = new RequestsPerMinuteLimiter(2, queueLimit: 1, time);

        Assert.True(limiter.AttemptAcquire().IsAcquired);    // t = 0
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(limiter.AttemptAcquire().IsAcquired);    // t = 30
        Assert.False(limiter.AttemptAcquire().IsAcquired);   // two in the last 60 s
        using var cancel = new CancellationTokenSource();
        var waiting = limiter.AcquireAsync(1, cancel.Token).AsTask();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(30)));
        var next = limiter.AcquireAsync(1, CancellationToken.None).AsTask(); // the queue place is free again

        time.Advance(TimeSpan.FromSeconds(29));               // t = 59: the grant at 0 s still counts
        Assert.False(next.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));                // t = 60: it leaves the window
        Assert.True((await next.WaitAsync(TimeSpan.FromSeconds(30))).IsAcquired);
        Assert.False(limiter.AttemptAcquire().IsAcquired);   // grants at 30 s and 60 s fill the window again
        Assert.Equal(0, limiter.GetStatistics()!.CurrentAvailablePermits);
    }

    [Fact]
    public async Task The_cache_answers_a_repeated_request_without_calling_the_provider()
    {
        var inner = new ScriptedProvider("inner");
        var cache = new MemoryDistributedCache(Options.Create(new MemoryDistributedCacheOptions()));
        var provider = new ImageProviderBuilder(inner).UseDistributedCache(cache).Build();

        var first = await provider.SubmitAsync(ScriptedProvider.Request("fox", seed: 3), CancellationToken.None);
        var second = await provider.SubmitAsync(ScriptedProvider.Request("fox", seed: 3), CancellationToken.None);
        await provider.SubmitAsync(ScriptedProvider.Request("fox", seed: 4), CancellationToken.None);

        Assert.Equal(2, inner.Calls); // the repeat was served from the cache; another seed was not
        var hit = Assert.IsType<ProviderResponse.Completed>(second).Image;
        Assert.Equal(inner.Image, hit.Bytes!.Value.ToArray());
        Assert.Equal("hit", hit.Meta["cache"]);
        Assert.Equal("inner-model", hit.Meta["model"]);
        Assert.False(Assert.IsType<ProviderResponse.Completed>(first).Image.Meta.ContainsKey("cache"));
    }

    [Fact]
    public async Task Logging_records_outcome_and_failure_code_but_never_the_prompt()
    {
        var logs = new FakeLogCollector();
        using var factory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider(logs)));
        var inner = new ScriptedProvider("inner");
        var provider = new ImageProviderBuilder(inner).UseLogging(factory).Build();

        await provider.SubmitAsync(ScriptedProvider.Request("secret family photo caption"), CancellationToken.None);
        inner.Failure = () => new GenerationException(GenerationErrorCategory.ProviderUnavailable, "down", "provider_unavailable.http_503");
        await Assert.ThrowsAsync<GenerationException>(async () => await provider.SubmitAsync(ScriptedProvider.Request("secret family photo caption"), CancellationToken.None));

        var messages = logs.GetSnapshot().Select(r => r.Message).ToList();
        Assert.Contains(messages, m => m.Contains("completed", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("provider_unavailable.http_503", StringComparison.Ordinal));
        Assert.DoesNotContain(messages, m => m.Contains("secret", StringComparison.Ordinal));
    }

    [Fact]
    public void ConfigureProvider_wraps_only_that_types_provider_in_its_own_layers()
    {
        var shared = new ScriptedProvider("shared");
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStefna()
            .AddGenerator<PromptOnlyTestGenerator>(PromptOnlyTestGenerator.TypeName)
            .UseProvider(_ => shared)
            .ConfigureProvider(PromptOnlyTestGenerator.TypeName, p => p.UseLogging().UseRequestsPerMinute(30));
        using var container = services.BuildServiceProvider();

        var typed = container.GetRequiredService<GenerationTypeRegistry>().GetProvider(PromptOnlyTestGenerator.TypeName);

        Assert.IsType<LoggingImageProvider>(typed);
        Assert.Equal("shared", typed.Name);
        Assert.Same(shared, container.GetRequiredService<IImageProvider>()); // the default itself stays unwrapped
    }
}

/// <summary>Who releases what: the registry disposes only the middleware layers it built.</summary>
public sealed class ProviderMiddlewareOwnershipTests
{
    private sealed class Tracked(IImageProvider inner) : DelegatingImageProvider(inner)
    {
        public bool Disposed { get; private set; }

        protected override void Dispose(bool disposing)
        {
            Disposed = true;
            base.Dispose(disposing);
        }
    }

    [Fact]
    public void The_registry_leaves_a_container_owned_delegating_provider_alone_and_disposes_the_layers_it_built()
    {
        var owned = new Tracked(new ScriptedProvider("inner"));
        Tracked? built = null;
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStefna()
            .AddGenerator<PromptOnlyTestGenerator>(PromptOnlyTestGenerator.TypeName)
            .UseProvider(_ => owned)
            .ConfigureProvider(PromptOnlyTestGenerator.TypeName, p => p.Use(inner => built = new Tracked(inner)));
        using var container = services.BuildServiceProvider();
        var registry = container.GetRequiredService<GenerationTypeRegistry>();

        registry.Dispose();

        Assert.True(built!.Disposed);
        Assert.False(owned.Disposed); // the container created it; it disposes it
    }
}
