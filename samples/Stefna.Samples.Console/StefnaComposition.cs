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

        var stefna = AddTypes(services.AddStefna(options => options.RunWorker = false)); // commands run the worker themselves (generate, worker)

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

        switch (settings.Provider.ToLowerInvariant())
        {
            case "offline":
                stefna.UseOfflineProvider();
                break;
            case "aimlapi":
                Uri? providerBase = null;
                if (settings.ProviderBase is { } text && !Uri.TryCreate(text, UriKind.Absolute, out providerBase))
                {
                    throw new CliException($"--provider-base '{text}' is not an absolute URL.");
                }

                // The key comes from AIMLAPI_KEY; a missing key fails option validation with a message naming it.
                stefna.UseAimlApi(o =>
                {
                    if (providerBase is not null)
                    {
                        o.BaseUrl = providerBase;
                    }
                });
                break;
            default:
                throw new CliException($"Unknown provider '{settings.Provider}'. Use offline or aimlapi.");
        }

        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
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
internal sealed class CliException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
