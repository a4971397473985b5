using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Stefna.Sdk;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Providers;
using static Stefna.Samples.Web.Tests.ApiHelpers;

namespace Stefna.Samples.Web.Tests;

/// <summary>A sixth, third-party type whose provider is always down: it gets its own entry from the SDK's
/// <c>AddStefnaHealthChecks()</c> automatically, and its open circuit shows in <c>/health</c> while the five others stay
/// healthy.</summary>
public sealed class HealthTests(HealthTests.DownFixture fixture) : IClassFixture<HealthTests.DownFixture>
{
    [Fact]
    public async Task A_type_whose_provider_keeps_failing_is_degraded_with_an_open_circuit_and_the_others_stay_healthy()
    {
        using var alice = fixture.App.Client();
        var types = await alice.GetFromJsonAsync<JsonElement>("api/types");
        var down = types.EnumerateArray().Single(t => t.Str("name") == AlwaysDownGenerator.TypeName);
        Assert.Equal(["prompt"], down.GetProperty("fields").EnumerateArray().Select(f => f.Str("name")));

        for (var i = 0; i < 4; i++)
        {
            var (location, _) = await SubmitAcceptedAsync(alice, AlwaysDownGenerator.TypeName, image: null, ("prompt", $"attempt {i}"));
            var job = await WaitUntilFinishedAsync(alice, location);
            Assert.Equal("failed", job.Str("status"));
            Assert.Equal("provider_unavailable", job.GetProperty("error").Str("category"));
        }

        using var response = await alice.GetAsync("health");
        var report = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode); // Degraded still serves.
        Assert.Equal("Degraded", report.Str("status"));
        var entries = report.GetProperty("types");
        Assert.Equal(6, entries.EnumerateObject().Count());
        var entry = entries.GetProperty(AlwaysDownGenerator.TypeName);
        Assert.Equal("Degraded", entry.Str("status"));
        Assert.Equal("open", entry.GetProperty("data").Str("circuit"));
        Assert.Equal("down", entry.GetProperty("data").Str("provider"));
        Assert.Equal("running", entry.GetProperty("data").Str("worker"));
        Assert.Equal("ok", entry.GetProperty("data").Str("store"));
        foreach (var type in new[] { "neo-glitch", "emotion-mask", "presets", "ghibli-reaction", "custom-prompt" })
        {
            Assert.Equal("Healthy", entries.GetProperty(type).Str("status"));
            Assert.Equal("closed", entries.GetProperty(type).GetProperty("data").Str("circuit"));
        }
    }

    public sealed class DownFixture : IAsyncLifetime
    {
        public WebAppFixture App { get; } = new()
        {
            Configure = builder => builder.Services.AddStefna()
                .AddGenerator<AlwaysDownGenerator>(AlwaysDownGenerator.TypeName, o =>
                {
                    o.ProviderRetries = 0;
                    o.CircuitBreakerMinimumThroughput = 2;
                    // Two failures open the circuit wherever they fall in the test: a sampling window far longer than the
                    // test, so a slow pick-up of the jobs on a loaded machine cannot spread them over two windows.
                    o.CircuitBreakerSamplingDuration = TimeSpan.FromMinutes(10);
                    o.CircuitBreakerBreakDuration = TimeSpan.FromMinutes(10);
                })
                .UseProvider(AlwaysDownGenerator.TypeName, _ => new DownProvider()),
            ExtraArgs = ["--Stefna:MaxAttempts=1"],
        };

        public Task InitializeAsync() => App.InitializeAsync();

        public Task DisposeAsync() => App.DisposeAsync();
    }

    public sealed class AlwaysDownGenerator(IOptions<StefnaOptions> options) : GeneratorBase(Definition, options)
    {
        public const string TypeName = "always-down";

        private static new readonly GenerationTypeDefinition Definition = new(TypeName, "always_down_media", "Always Down") { RequiresSourceImage = false };

        protected override ValueTask<GenerationSpec> PrepareCoreAsync(GenerationRequest request, string? prompt, CancellationToken cancellationToken) =>
            ValueTask.FromResult(new GenerationSpec { Prompt = prompt });

        public override ProviderRequest CreateProviderRequest(GenerationJob job, ImageContent? sourceImage) =>
            new() { JobId = job.Id, Type = job.Type, Prompt = job.Prompt ?? "x" };
    }

    public sealed class DownProvider : IImageProvider
    {
        public string Name => "down";

        public ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken) =>
            throw new GenerationException(GenerationErrorCategory.ProviderUnavailable, "The provider is down.");

        public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken) =>
            throw new GenerationException(GenerationErrorCategory.ProviderUnavailable, "The provider is down.");
    }
}
