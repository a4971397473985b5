using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;
using Stefna.Sdk;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Diagnostics;
using Stefna.Sdk.Imaging;
using Stefna.Sdk.Internal;
using Stefna.Sdk.Net;
using Stefna.Sdk.Pipeline;
using Stefna.Sdk.Providers;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>The builder that Stefna plug-in packages extend: <c>services.AddStefna().AddNeoGlitch().UseSqlite(...)</c>.</summary>
public interface IStefnaBuilder
{
    /// <summary>The service collection being configured.</summary>
    IServiceCollection Services { get; }
}

/// <summary>Registers the Stefna SDK core.</summary>
public static class StefnaServiceCollectionExtensions
{
    /// <summary>Adds the generation pipeline, worker and core services. Safe to call more than once.</summary>
    /// <param name="services">The services.</param>
    /// <returns>The builder for plug-ins, stores, storage and providers.</returns>
    public static IStefnaBuilder AddStefna(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(d => d.ServiceType == typeof(StefnaMarker)))
        {
            return new StefnaBuilder(services);
        }

        services.AddSingleton<StefnaMarker>();
        StefnaConfigurationKeys.In(services);
        services.AddOptions<StefnaOptions>().BindStefnaConfiguration(string.Empty).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StefnaOptions>, StefnaOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GenerationTypeOptions>, GenerationTypeOptionsValidator>());
        services.AddLogging();
        // The SDK's meter comes from the host's IMeterFactory (one per service provider), not a static.
        services.AddMetrics();
        services.TryAddSingleton<StefnaMetrics>();
        services.AddHttpClient(JobRunner.DownloadClientName, client => client.Timeout = TimeSpan.FromMinutes(2));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IHostAddressResolver, DnsHostAddressResolver>();
        services.TryAddSingleton<IImageAddressPolicy, PublicAddressPolicy>();
        services.TryAddSingleton(sp => new ImageFetcher(
            sp.GetRequiredService<IHostAddressResolver>(),
            sp.GetRequiredService<IImageAddressPolicy>(),
            sp.GetRequiredService<IOptions<StefnaOptions>>()));
        // One budget of decoded-image memory for the whole host, shared by every provider that decodes.
        services.TryAddSingleton<IImageMemoryBudget>(sp => new ImageMemoryBudget(sp.GetRequiredService<IOptions<StefnaOptions>>().Value.ImageMemoryBudgetBytes));
        services.TryAddSingleton<GenerationTypeRegistry>();
        services.TryAddSingleton<WorkSignals>();
        services.TryAddSingleton<JobWatchHub>();
        services.TryAddSingleton<CircuitStates>();
        services.TryAddSingleton<StefnaInitializer>();
        services.TryAddSingleton<MediaStoreRouter>();
        services.TryAddSingleton<JobRunner>();
        // Built explicitly: its constructor is internal, which ActivatorUtilities cannot see.
        services.TryAddSingleton(sp => new GenerationWorker(
            sp.GetRequiredService<GenerationTypeRegistry>(),
            sp.GetRequiredService<StefnaInitializer>(),
            sp.GetRequiredService<MediaStoreRouter>(),
            sp.GetRequiredService<JobRunner>(),
            sp.GetRequiredService<WorkSignals>(),
            sp.GetRequiredService<JobWatchHub>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptions<StefnaOptions>>(),
            sp.GetRequiredService<IOptionsMonitor<GenerationTypeOptions>>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<GenerationWorker>>()));
        services.TryAddSingleton<IGenerationPipeline, GenerationPipeline>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, StefnaHostedService>());
        AddWebhooks(services);
        return new StefnaBuilder(services);
    }

    // Webhooks: options at Stefna:Webhooks, the submit-time URL guard, the delivery loop and its hosted service.
    private static void AddWebhooks(IServiceCollection services)
    {
        services.AddOptions<Stefna.Sdk.Webhooks.StefnaWebhookOptions>().BindStefnaConfiguration(Stefna.Sdk.Webhooks.StefnaWebhookOptions.ConfigurationKey).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<Stefna.Sdk.Webhooks.StefnaWebhookOptions>, Stefna.Sdk.Webhooks.StefnaWebhookOptionsValidator>());
        services.TryAddSingleton<Stefna.Sdk.Webhooks.WebhookUrlGuard>();
        services.TryAddSingleton(sp => new Stefna.Sdk.Webhooks.WebhookTelemetry(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.TryAddSingleton(sp => new Stefna.Sdk.Webhooks.WebhookDispatcher(
            sp.GetRequiredService<MediaStoreRouter>(),
            sp.GetRequiredService<StefnaInitializer>(),
            sp.GetRequiredService<IHostAddressResolver>(),
            sp.GetRequiredService<IImageAddressPolicy>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptions<Stefna.Sdk.Webhooks.StefnaWebhookOptions>>(),
            sp.GetRequiredService<Stefna.Sdk.Webhooks.WebhookTelemetry>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<Stefna.Sdk.Webhooks.WebhookDispatcher>>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, Stefna.Sdk.Webhooks.WebhookHostedService>());
    }

    /// <summary>Adds the SDK and binds every Stefna option from <paramref name="configuration"/>, the Stefna section
    /// (<c>builder.Configuration.GetSection("Stefna")</c>): the core's options at its root, each type's under
    /// <c>Types:&lt;type&gt;</c>, each store, storage and provider package's under its own key. The same as
    /// <c>AddStefna().BindConfiguration(configuration)</c>.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The Stefna section.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder AddStefna(this IServiceCollection services, IConfiguration configuration) =>
        services.AddStefna().BindConfiguration(configuration);

    /// <summary>Adds the SDK and configures its options.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Configures <see cref="StefnaOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder AddStefna(this IServiceCollection services, Action<StefnaOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var builder = services.AddStefna();
        services.Configure(configure);
        return builder;
    }

    /// <summary>Registers a generation type: its generator (keyed by the type's name), its named options and its own
    /// resilience pipeline. Plug-in packages call this from their <c>AddXxx()</c>; calling it twice for one type is harmless.</summary>
    /// <typeparam name="TGenerator">The generator.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures the type's <see cref="GenerationTypeOptions"/>.</param>
    /// <returns>The builder.</returns>
    /// <remarks>The type's name comes from <typeparamref name="TGenerator"/>'s static <c>TypeDefinition</c>: it is
    /// spelled once, in the definition.</remarks>
    public static IStefnaBuilder AddGenerator<TGenerator>(this IStefnaBuilder builder, Action<GenerationTypeOptions>? configure = null)
        where TGenerator : class, Stefna.Sdk.Generators.IGenerator, Stefna.Sdk.Generators.IGenerationType
        => builder.AddGenerator<TGenerator>(TGenerator.TypeDefinition.Name, configure);

    /// <summary>Registers a generator class under a name given here rather than by its definition: for one class
    /// serving several names (tests, adapters). Plug-in packages use <see cref="AddGenerator{TGenerator}(IStefnaBuilder, Action{GenerationTypeOptions}?)"/>,
    /// which spells the name once, in the definition.</summary>
    /// <typeparam name="TGenerator">The generator.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="type">The type's name; must equal the generator's <c>Definition.Name</c>.</param>
    /// <param name="configure">Configures the type's <see cref="GenerationTypeOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder AddGenerator<TGenerator>(this IStefnaBuilder builder, string type, Action<GenerationTypeOptions>? configure = null)
        where TGenerator : class, Stefna.Sdk.Generators.IGenerator
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(type);
        var services = builder.Services;
        // Configuration first, so options set in code win.
        services.AddOptions<GenerationTypeOptions>(type).BindStefnaConfiguration(ConfigurationPath.Combine("Types", type));
        if (configure is not null)
        {
            services.Configure(type, configure);
        }

        if (services.Any(d => d.ServiceType == typeof(GeneratorRegistration) && d.ImplementationInstance is GeneratorRegistration r && r.Type == type))
        {
            return builder;
        }

        services.AddSingleton(new GeneratorRegistration(type));
        services.AddKeyedSingleton<Stefna.Sdk.Generators.IGenerator, TGenerator>(type);
        services.AddOptions<GenerationTypeOptions>(type).ValidateOnStart();
        // Typed to the provider's answer, so no strategy converts results through object: each conversion is an extra
        // async state machine held for the whole provider call, and a host holds thousands of calls at once.
        services.AddResiliencePipeline<string, ProviderResponse>(type, (pipeline, context) =>
        {
            var options = context.ServiceProvider.GetRequiredService<IOptionsMonitor<GenerationTypeOptions>>().Get(type);
            var time = context.ServiceProvider.GetRequiredService<TimeProvider>();
            pipeline.TimeProvider = time;
            var transient = new PredicateBuilder<ProviderResponse>().Handle<Exception>(IsTransient);
            if (options.ProviderRetries > 0)
            {
                pipeline.AddRetry(new RetryStrategyOptions<ProviderResponse>
                {
                    ShouldHandle = transient,
                    MaxRetryAttempts = options.ProviderRetries,
                    Delay = options.ProviderRetryDelay,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    MaxDelay = TimeSpan.FromSeconds(30),
                    DelayGenerator = args => ValueTask.FromResult(RetryAfterHint(args.Outcome.Exception)),
                    Name = $"{type}-retry",
                });
            }

            pipeline
                .AddCircuitBreaker(new CircuitBreakerStrategyOptions<ProviderResponse>
                {
                    ShouldHandle = transient,
                    FailureRatio = options.CircuitBreakerFailureRatio,
                    MinimumThroughput = options.CircuitBreakerMinimumThroughput,
                    SamplingDuration = options.CircuitBreakerSamplingDuration,
                    BreakDuration = options.CircuitBreakerBreakDuration,
                    Name = $"{type}-circuit",
                    StateProvider = context.ServiceProvider.GetRequiredService<CircuitStates>().Create(type),
                })
                .AddTimeout(new TimeoutStrategyOptions { Timeout = options.AttemptTimeout, Name = $"{type}-timeout" });
        });
        return builder;
    }

    /// <summary>Configures one generation type's options (concurrency, timeouts, retries, circuit breaker).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="type">The type's name.</param>
    /// <param name="configure">Configures the options.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder ConfigureType(this IStefnaBuilder builder, string type, Action<GenerationTypeOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure(type, configure);
        return builder;
    }

    /// <summary>Configures the SDK's options.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures the options.</param>
    /// <returns>The builder.</returns>
    public static IStefnaBuilder Configure(this IStefnaBuilder builder, Action<StefnaOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure(configure);
        return builder;
    }

    // Failures worth retrying in place: anything but a classified non-transient failure or a cancellation.
    private static bool IsTransient(Exception exception) => exception switch
    {
        TimeoutRejectedException => true,
        OperationCanceledException => false,
        GenerationException g => g.Category is GenerationErrorCategory.ProviderUnavailable or GenerationErrorCategory.Timeout,
        BrokenCircuitException => false,
        _ => true,
    };

    private static TimeSpan? RetryAfterHint(Exception? exception) =>
        exception is ProviderRetryAfterException hint ? hint.RetryAfter : null;

    private sealed class StefnaMarker;

    private sealed class StefnaBuilder(IServiceCollection services) : IStefnaBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
