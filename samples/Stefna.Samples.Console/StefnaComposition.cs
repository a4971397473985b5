using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Stefna.Sdk;
using Stefna.Sdk.Generators;

namespace Stefna.Samples.Console;

/// <summary>Composes the SDK for the CLI: every generation type, the chosen store, storage and provider.</summary>
internal static class StefnaComposition
{
    /// <summary>The generation types this CLI offers: one list, used to compose the SDK and to describe the types in help.</summary>
    public static IStefnaBuilder AddTypes(IStefnaBuilder stefna) => stefna
        .AddNeoGlitch()
        .AddEmotionMask()
        .AddPresets()
        .AddGhibliReaction()
        .AddCustomPrompt();

    /// <summary>The definitions of the registered types (name, inputs, choices), read from the generators the plug-ins
    /// registered; needs no store, storage or provider, so help works before any of them is configured.</summary>
    public static IReadOnlyList<GenerationTypeDefinition> Types()
    {
        var services = new ServiceCollection();
        AddTypes(services.AddStefna(options => options.RunWorker = false));
        using var provider = services.BuildServiceProvider();
        return
        [
            .. services.Where(d => d.ServiceType == typeof(IGenerator) && d.IsKeyedService)
                .Select(d => d.ServiceKey).OfType<string>().Distinct(StringComparer.Ordinal)
                .Select(key => provider.GetRequiredKeyedService<IGenerator>(key).Definition)
                .OrderBy(d => d.Name, StringComparer.Ordinal),
        ];
    }

    public static ServiceProvider Build(CliSettings settings, TextWriter log)
    {
        var services = new ServiceCollection();
        services.AddLogging(logging =>
        {
            // stderr carries exactly one line on failure; logs are for --verbose.
            logging.SetMinimumLevel(settings.Verbose ? LogLevel.Information : LogLevel.None);
            logging.AddProvider(new OneLineLoggerProvider(log));
        });

        var stefna = AddTypes(services.AddStefna(options =>
        {
            options.RunWorker = false; // commands run the worker themselves (generate, worker)
            options.AllowPrivateNetworkImageUrls = settings.AllowPrivateUrls;
        }));

        // Webhooks: signed with STEFNA_WEBHOOK_SECRET (never printed); loopback/private receivers with --allow-private-urls.
        services.Configure<Stefna.Sdk.Webhooks.StefnaWebhookOptions>(options =>
        {
            if (Environment.GetEnvironmentVariable("STEFNA_WEBHOOK_SECRET") is { Length: > 0 } secret)
            {
                options.Secrets.Add(secret);
            }

            options.AllowPrivateUrls = settings.AllowPrivateUrls;
        });

        // Jobs: PostgreSQL when given (production, any number of hosts), else the embedded SQLite file.
        // Images: local files under --data unless Cloudinary is configured below.
        var data = Path.GetFullPath(settings.DataDirectory);
        var postgres = settings.Postgres ?? Environment.GetEnvironmentVariable("STEFNA_POSTGRES");
        if (!string.IsNullOrWhiteSpace(postgres))
        {
            stefna.UsePostgres(postgres);
        }
        else
        {
            stefna.UseSqlite(Path.Combine(data, "stefna.db"));
        }

        stefna.UseLocalFileStorage(Path.Combine(data, "images"));

        var cloudinary = settings.Cloudinary ?? Environment.GetEnvironmentVariable("CLOUDINARY_URL");
        if (!string.IsNullOrWhiteSpace(cloudinary))
        {
            try
            {
                stefna.UseCloudinary(cloudinary, settings.CloudinaryApiBase);
            }
            catch (FormatException ex)
            {
                throw new CliException(ex.Message);
            }
        }

        var providerBase = ProviderBase(settings);
        switch (settings.Provider.ToLowerInvariant())
        {
            case "offline":
                stefna.UseOfflineProvider();
                break;
            case "aimlapi":
                // The key comes from AIMLAPI_KEY; a missing key fails option validation with a message naming it.
                stefna.UseAimlApi(o =>
                {
                    if (providerBase is not null)
                    {
                        o.BaseUrl = providerBase;
                    }

                    if (settings.Model is { } model)
                    {
                        o.Model = model;
                    }
                });
                break;
            case "openai":
                var key = Environment.GetEnvironmentVariable("OPENAI_API_KEY");
                if (string.IsNullOrWhiteSpace(key))
                {
                    throw new CliException("--provider openai needs an API key: set OPENAI_API_KEY.");
                }

                // OpenAI's image models through Microsoft.Extensions.AI (Stefna.Sdk.Extensions.AI's UseOpenAI): text-to-image →
                // /images/generations, a source image → /images/edits. The client's own retries stay on (they honour
                // Retry-After); the type's pipeline wraps them. The presets' AIML API models are not sent (UseRequestModel off).
                stefna.UseOpenAI(o =>
                {
                    o.ApiKey = key;
                    o.Model = settings.Model ?? DefaultOpenAIModel;
                    if (providerBase is not null)
                    {
                        o.Endpoint = providerBase;
                    }
                });
                break;
            default:
                throw new CliException($"Unknown provider '{settings.Provider}'. Use offline, aimlapi or openai.");
        }

        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    /// <summary>The OpenAI image model used when --model names none.</summary>
    public const string DefaultOpenAIModel = Stefna.Sdk.Extensions.AI.OpenAIImageProviderOptions.DefaultModel;

    /// <summary>--provider-base, parsed; a loopback or private address only with --allow-private-urls. IP literals and
    /// "localhost" are checked here; a host name is not resolved (the sample never resolves names just to check them).</summary>
    private static Uri? ProviderBase(CliSettings settings)
    {
        if (settings.ProviderBase is not { } text)
        {
            return null;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            throw new CliException($"--provider-base '{text}' is not an absolute http(s) URL.");
        }

        var local = url.IsLoopback || (System.Net.IPAddress.TryParse(url.DnsSafeHost, out var address) && !Stefna.Sdk.Net.AddressGuard.IsPublic(address));
        if (local && !settings.AllowPrivateUrls)
        {
            throw new CliException($"--provider-base '{url.Host}' is a loopback or private address; add --allow-private-urls to use it (local testing only).");
        }

        return url;
    }

    /// <summary>Logs as single lines on stderr, so stdout stays clean for --json.</summary>
    private sealed class OneLineLoggerProvider(TextWriter writer) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new OneLineLogger(writer);

        public void Dispose()
        {
        }

        private sealed class OneLineLogger(TextWriter writer) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (writer)
                {
                    writer.WriteLine($"{logLevel.ToString().ToLowerInvariant()}: {formatter(state, exception)}");
                }
            }
        }
    }
}

/// <summary>A failure the CLI reports as one line and a non-zero exit code.</summary>
internal sealed class CliException(string message, int exitCode = 1, string category = "invalid_request") : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    /// <summary>The category (and code) of the <c>--json</c> error object: invalid_request, not_found, ...</summary>
    public string Category { get; } = category;
}
