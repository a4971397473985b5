using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stefna.Sdk;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Imaging;
using Stefna.Sdk.Providers;
using Stefna.Sdk.Providers.AimlApi;
using Stefna.Sdk.Testing.Fakes;

namespace Stefna.Sdk.Providers.AimlApi.Tests;

/// <summary>Collects every log message (all categories, Trace and up) with its exception text.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<string> Messages { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
        {
            owner.Messages.Enqueue($"[scope] {category}: {state}");
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var structured = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(", ", pairs.Select(p => $"{p.Key}={p.Value}")) : string.Empty;
            owner.Messages.Enqueue($"{logLevel} {category}: {formatter(state, exception)} | {structured} | {exception}");
        }
    }
}

/// <summary>The AIML provider wired through the real DI extension against an emulator.</summary>
internal sealed class AimlHarness : IAsyncDisposable
{
    private AimlHarness(AimlApiEmulator emulator, ServiceProvider services, CapturingLoggerProvider logs)
    {
        Emulator = emulator;
        Services = services;
        Logs = logs;
    }

    public AimlApiEmulator Emulator { get; }

    public ServiceProvider Services { get; }

    public CapturingLoggerProvider Logs { get; }

    public IImageProvider Provider => Services.GetRequiredService<IImageProvider>();

    public Http.AccessTokenCache TokenCache => Services.GetRequiredKeyedService<Http.AccessTokenCache>(
        TokenRefreshHttpClientBuilderExtensions.CacheKey(AimlApiBuilderExtensions.HttpClientName(AimlApiBuilderExtensions.DefaultName)));

    public static async Task<AimlHarness> StartAsync(Action<AimlApiOptions>? configure = null)
    {
        var emulator = await AimlApiEmulator.StartAsync();
        var logs = new CapturingLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(logs));
        services.AddStefna().UseAimlApi(o =>
        {
            o.ApiKey = emulator.ApiKey;
            o.BaseUrl = emulator.BaseUrl;
            o.RetryDelay = TimeSpan.FromMilliseconds(20);
            o.AttemptTimeout = TimeSpan.FromSeconds(10);
            o.TotalTimeout = TimeSpan.FromSeconds(30);
            configure?.Invoke(o);
        });
        var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
        return new AimlHarness(emulator, provider, logs);
    }

    public static ProviderRequest TextRequest(long? seed = 1234) => new()
    {
        JobId = Guid.NewGuid(),
        Type = "prompt-test",
        Prompt = "a lighthouse at dusk, oil painting",
        Seed = seed,
    };

    public async Task<ProviderImage> GenerateAsync(ProviderRequest? request = null)
    {
        var response = await Provider.SubmitAsync(request ?? TextRequest(), CancellationToken.None);
        return Assert.IsType<ProviderResponse.Completed>(response).Image;
    }

    public async Task<GenerationException> FailAsync(ProviderRequest? request = null) =>
        await Assert.ThrowsAnyAsync<GenerationException>(async () => await Provider.SubmitAsync(request ?? TextRequest(), CancellationToken.None));

    public async ValueTask DisposeAsync()
    {
        await Services.DisposeAsync();
        await Emulator.DisposeAsync();
    }
}

/// <summary>A minimal generation type for end-to-end runs: the prompt as given, an optional source image.</summary>
internal sealed class PromptTestGenerator(IOptions<StefnaOptions> options) : GeneratorBase(Definition, options)
{
    public const string TypeName = "prompt-test";

    private static new readonly GenerationTypeDefinition Definition = new(TypeName, "prompt_test_media", "Prompt test") { RequiresSourceImage = false };

    protected override bool PromptRequired => true;

    protected override ValueTask<GenerationSpec> PrepareCoreAsync(GenerationRequest request, string? prompt, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new GenerationSpec { Prompt = prompt });

    public override ProviderRequest CreateProviderRequest(GenerationJob job, ImageContent? sourceImage) => new()
    {
        JobId = job.Id,
        Type = job.Type,
        Prompt = job.Prompt!,
        SourceImage = sourceImage,
        Strength = sourceImage is null ? null : 0.55,
        Seed = SeedFor(job.Id),
    };
}

internal static class Images
{
    public static ImageContent Content(byte[] png) => new(png, ImageInspector.Inspect(png));
}
