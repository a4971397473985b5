using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Stefna.Sdk.Providers;
using Stefna.TestUtils;
using Xunit.Abstractions;

namespace Stefna.Sdk.Isolation.Tests;

/// <summary>
/// One type's slow or failing provider must not take another type's capacity: while B holds every one of its in-flight
/// places on a provider that does not answer, A still reaches its own full concurrency and completes all its jobs; every
/// B job fails as provider-unavailable, and once B's circuit is open B fails fast without calling its provider.
/// Proven with counts and events (how many calls are in flight at once, how many reached the provider), never with a
/// throughput ratio or a stopwatch, which a loaded machine can push past any margin.
/// </summary>
public sealed class IsolationTests(ITestOutputHelper output)
{
    private const string TypeA = "type-a";
    private const string TypeB = "type-b";
    private const int LimitA = 8;
    private const int LimitB = 4;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_type_whose_provider_hangs_holding_all_its_places_leaves_another_type_its_full_concurrency()
    {
        var hanging = new GatedProvider("hanging");
        var healthy = new GatedProvider("healthy") { OpenAt = LimitA };
        await using var host = PipelineHost.Start(b => b
            .AddGenerator<KeyedTestGenerator>(TypeA)
            .AddGenerator<KeyedTestGenerator>(TypeB)
            .UseProvider(TypeA, _ => healthy)
            .UseProvider(TypeB, _ => hanging)
            .ConfigureType(TypeA, o => o.MaxInFlight = LimitA)
            .ConfigureType(TypeB, o =>
            {
                o.MaxInFlight = LimitB;
                o.AttemptTimeout = TimeSpan.FromMinutes(10);
            }));

        // B first: twice its limit, so B has all its places taken and more jobs waiting behind them.
        var bTickets = new List<GenerationTicket>();
        for (var i = 0; i < 2 * LimitB; i++)
        {
            bTickets.Add(await host.Pipeline.SubmitAsync(new GenerationRequest { Type = TypeB, UserId = "user-b" }));
        }

        await hanging.WaitForInFlightAsync(LimitB).WaitAsync(Patience);

        // A's provider lets no call finish until LimitA calls are in it at once: A completes only if B took none of
        // A's places. Three waves of LimitA jobs each.
        var aJobs = await Task.WhenAll(Enumerable.Range(0, 3 * LimitA).Select(_ => host.RunAsync(TypeA, "user-a"))).WaitAsync(Patience);
        Assert.All(aJobs, j => Assert.Equal(GenerationStatus.Completed, j.Status));
        Assert.Equal(LimitA, healthy.MaxInFlight);
        output.WriteLine($"A: {aJobs.Length} completed, at most {healthy.MaxInFlight} in flight at once; B: {hanging.InFlight} hanging, {hanging.MaxInFlight} at most");

        // B's provider held exactly its own limit the whole time and no B job finished meanwhile.
        Assert.Equal(LimitB, hanging.MaxInFlight);
        Assert.Equal(LimitB, hanging.InFlight);
        foreach (var ticket in bTickets)
        {
            var job = await host.Pipeline.GetStatusAsync(TypeB, ticket.Id, "user-b");
            Assert.NotNull(job);
            Assert.Contains(job!.Status, new[] { GenerationStatus.Queued, GenerationStatus.Processing });
        }

        hanging.Release();
        var bJobs = await Task.WhenAll(bTickets.Select(t => host.Pipeline.WaitForCompletionAsync(TypeB, t.Id, "user-b", Patience)));
        Assert.All(bJobs, j => Assert.Equal(GenerationStatus.Completed, j.Status));
    }

    [Fact]
    public async Task A_failing_type_fails_as_unavailable_and_fast_once_its_circuit_opens_while_a_healthy_type_completes()
    {
        var calls = 0;
        await using var failing = await LoopbackServer.StartAsync(app => app.MapPost("/generate", (HttpContext context) =>
        {
            Interlocked.Increment(ref calls);
            return Results.Json(new { error = "overloaded" }, statusCode: 503);
        }));
        using var http = new HttpClient();
        var healthy = new GatedProvider("healthy");
        healthy.Release();
        await using var host = PipelineHost.Start(
            b => b
                .AddGenerator<KeyedTestGenerator>(TypeA)
                .AddGenerator<KeyedTestGenerator>(TypeB)
                .UseProvider(TypeA, _ => healthy)
                .UseProvider(TypeB, _ => new FailingHttpProvider(http, new Uri(failing.BaseUrl, "/generate")))
                .ConfigureType(TypeA, o => o.MaxInFlight = LimitA)
                .ConfigureType(TypeB, o =>
                {
                    o.MaxInFlight = LimitB;
                    o.ProviderRetries = 1;
                    o.ProviderRetryDelay = TimeSpan.FromMilliseconds(20);
                    o.AttemptTimeout = TimeSpan.FromSeconds(30);
                    o.CircuitBreakerMinimumThroughput = 4;
                    o.CircuitBreakerFailureRatio = 0.5;
                    o.CircuitBreakerSamplingDuration = TimeSpan.FromMinutes(10);
                    o.CircuitBreakerBreakDuration = TimeSpan.FromMinutes(10);
                }),
            o =>
            {
                o.MaxAttempts = 2;
                o.RetryBackoff = TimeSpan.FromMilliseconds(20);
            });

        var bTickets = new List<GenerationTicket>();
        for (var i = 0; i < 40; i++)
        {
            bTickets.Add(await host.Pipeline.SubmitAsync(new GenerationRequest { Type = TypeB, UserId = "user-b" }));
        }

        var aJobs = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => host.RunAsync(TypeA, "user-a")));
        Assert.All(aJobs, j => Assert.Equal(GenerationStatus.Completed, j.Status));
        Assert.All(aJobs, j => Assert.Equal(1, j.Attempts));

        var bJobs = await Task.WhenAll(bTickets.Select(t => host.Pipeline.WaitForCompletionAsync(TypeB, t.Id, "user-b", Patience)));
        Assert.All(bJobs, j =>
        {
            Assert.Equal(GenerationStatus.Failed, j.Status);
            Assert.Equal(GenerationErrorCategory.ProviderUnavailable, j.Error!.Category);
        });
        Assert.Contains(bJobs, j => j.Error!.Code == "provider_unavailable.circuit_open");
        output.WriteLine($"B: {bJobs.Count(j => j.Error!.Code == "provider_unavailable.circuit_open")} of {bJobs.Length} failed fast on the open circuit; provider calls {Volatile.Read(ref calls)}");
        await AssertFailsFastAsync(host, () => Volatile.Read(ref calls));
    }

    private async Task AssertFailsFastAsync(PipelineHost host, Func<int> serverCalls)
    {
        // Fast = without calling the provider, so without its latency: proven by the provider's call count, which no
        // job on the open circuit moves (a count, not a stopwatch a loaded machine could push past a margin).
        var before = serverCalls();
        for (var i = 0; i < 5; i++)
        {
            var job = await host.RunAsync(TypeB, "user-b");
            Assert.Equal(GenerationStatus.Failed, job.Status);
            Assert.Equal("provider_unavailable.circuit_open", job.Error!.Code);
            Assert.Equal(1, job.Attempts);
            Assert.Equal(before, serverCalls());
        }
    }

    /// <summary>A provider whose calls wait at a gate and which counts how many are inside at once. With
    /// <see cref="OpenAt"/> set, the gate opens by itself once that many calls are in at the same time.</summary>
    private sealed class GatedProvider(string name) : IImageProvider
    {
        private static readonly byte[] Image = TestImages.Png(16, 16, seed: 2);
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Lock _lock = new();
        private readonly List<(int Count, TaskCompletionSource Reached)> _waiters = [];
        private int _inFlight;
        private int _maxInFlight;

        public string Name => name;

        public int? OpenAt { get; init; }

        public int InFlight => Volatile.Read(ref _inFlight);

        public int MaxInFlight => Volatile.Read(ref _maxInFlight);

        public void Release() => _gate.TrySetResult();

        public Task WaitForInFlightAsync(int count)
        {
            lock (_lock)
            {
                if (_inFlight >= count)
                {
                    return Task.CompletedTask;
                }

                var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiters.Add((count, reached));
                return reached.Task;
            }
        }

        public async ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken)
        {
            lock (_lock)
            {
                _inFlight++;
                _maxInFlight = Math.Max(_maxInFlight, _inFlight);
                foreach (var waiter in _waiters.Where(w => _inFlight >= w.Count).ToList())
                {
                    _waiters.Remove(waiter);
                    waiter.Reached.TrySetResult();
                }

                if (_inFlight >= OpenAt)
                {
                    _gate.TrySetResult();
                }
            }

            try
            {
                await _gate.Task.WaitAsync(cancellationToken);
                return new ProviderResponse.Completed(new ProviderImage { Bytes = Image });
            }
            finally
            {
                lock (_lock)
                {
                    _inFlight--;
                }
            }
        }

        public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }

    /// <summary>A provider whose service answers 503 to every call.</summary>
    private sealed class FailingHttpProvider(HttpClient http, Uri endpoint) : IImageProvider
    {
        public string Name => "failing";

        public async ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken)
        {
            using var response = await http.PostAsync(endpoint, new StringContent(request.Prompt), cancellationToken);
            response.EnsureSuccessStatusCode(); // throws HttpRequestException for the 503
            throw new InvalidOperationException("unreachable");
        }

        public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }
}
