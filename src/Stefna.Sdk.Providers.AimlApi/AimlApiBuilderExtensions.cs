using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Providers.AimlApi;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Chooses the AIML API as the image provider.</summary>
public static class AimlApiBuilderExtensions
{
    /// <summary>The key of the default provider's options under the Stefna configuration section: <c>AimlApi</c>; a
    /// per-type provider's are at <c>Types:&lt;type&gt;:AimlApi</c>.</summary>
    public const string ConfigurationKey = "AimlApi";

    /// <summary>The named-options name of the default AIML API provider.</summary>
    public const string DefaultName = AimlApiImageProvider.ProviderName;

    /// <summary>Uses the AIML API for every type that has no provider of its own. The key comes from
    /// <see cref="AimlApiOptions.ApiKey"/> or the <c>AIMLAPI_KEY</c> environment variable; options bind from
    /// <c>Stefna:AimlApi</c> when the host binds configuration, <paramref name="configure"/> after them, and are
    /// validated at start-up.</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="configure">Configures the provider.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseAimlApi(this IStefnaBuilder builder, Action<AimlApiOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        Register(builder.Services, DefaultName, ConfigurationKey, configure);
        return builder.UseProvider(sp => sp.GetRequiredKeyedService<AimlApiImageProvider>(DefaultName));
    }

    /// <summary>Uses the AIML API for one type only, with options, HTTP client and resilience of its own
    /// (named options <c>aimlapi:&lt;type&gt;</c>, bound from <c>Stefna:Types:&lt;type&gt;:AimlApi</c> when the host binds
    /// configuration).</summary>
    /// <param name="builder">The Stefna builder.</param>
    /// <param name="type">The generation type's name.</param>
    /// <param name="configure">Configures the provider.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder UseAimlApi(this IStefnaBuilder builder, string type, Action<AimlApiOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(type);
        var name = OptionsName(type);
        Register(builder.Services, name, ConfigurationPath.Combine("Types", type, ConfigurationKey), configure);
        return builder.UseProvider(type, sp => sp.GetRequiredKeyedService<AimlApiImageProvider>(name));
    }

    /// <summary>The named-options name (and service key) of a per-type AIML API provider.</summary>
    /// <param name="type">The generation type's name.</param>
    /// <returns><c>aimlapi:&lt;type&gt;</c>.</returns>
    public static string OptionsName(string type) => DefaultName + ":" + type;

    /// <summary>The name of the HTTP client behind an AIML API provider.</summary>
    /// <param name="optionsName">The provider's named-options name.</param>
    /// <returns>The HTTP client's name.</returns>
    public static string HttpClientName(string optionsName) => "Stefna.AimlApi." + optionsName;

    private static void Register(IServiceCollection services, string name, string configurationKey, Action<AimlApiOptions>? configure)
    {
        var options = services.AddOptions<AimlApiOptions>(name).BindStefnaConfiguration(configurationKey).ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AimlApiOptions>, AimlApiOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        if (services.Any(d => d.ServiceType == typeof(AimlApiImageProvider) && Equals(d.ServiceKey, name)))
        {
            return;
        }

        var clientName = HttpClientName(name);
        // No default HttpClient loggers: their Trace entries redact Authorization only in the formatted text, while
        // the entry's structured values (what OpenTelemetry/Serilog sinks record) carry the raw "Bearer <key>".
        // The provider logs each call itself (sending, answered, failed) without headers.
        var http = services.AddHttpClient(clientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .RedactLoggedHeaders(["Authorization"])
            .RemoveAllLoggers();

        // Outer: retries, Retry-After, timeouts, circuit breaker. Inner: the key, so each attempt carries it.
        var resilience = http.AddStandardResilienceHandler().Configure((o, sp) =>
        {
            var aiml = sp.GetRequiredService<IOptionsMonitor<AimlApiOptions>>().Get(name);
            o.AttemptTimeout.Timeout = aiml.AttemptTimeout;
            o.TotalRequestTimeout.Timeout = aiml.TotalTimeout;
            o.Retry.MaxRetryAttempts = aiml.MaxRetryAttempts;
            o.Retry.Delay = aiml.RetryDelay;
            o.Retry.ShouldRetryAfterHeader = true;
            o.CircuitBreaker.FailureRatio = aiml.CircuitBreakerFailureRatio;
            var sampling = TimeSpan.FromTicks(aiml.AttemptTimeout.Ticks * 2);
            o.CircuitBreaker.SamplingDuration = sampling > TimeSpan.FromSeconds(30) ? sampling : TimeSpan.FromSeconds(30);
        });
        services.AddOptions<HttpStandardResilienceOptions>(resilience.PipelineName).ValidateOnStart();
        http.AddTokenRefresh(sp => new AimlApiKeySource(sp.GetRequiredService<IOptionsMonitor<AimlApiOptions>>(), name));

        services.AddKeyedSingleton(name, (sp, _) => new AimlApiImageProvider(
            sp.GetRequiredService<IHttpClientFactory>(),
            clientName,
            sp.GetRequiredService<IOptionsMonitor<AimlApiOptions>>().Get(name),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<AimlApiImageProvider>>()));
    }
}
