using Microsoft.Extensions.Options;

namespace Stefna.Sdk.Configuration;

/// <summary>Options of the pipeline and its worker, shared by every generation type. Validated at start-up.</summary>
public sealed class StefnaOptions
{
    /// <summary>The largest source image accepted, in bytes. Default 20 MiB.</summary>
    public long MaxImageBytes { get; set; } = 20L * 1024 * 1024;

    /// <summary>The largest width × height accepted for source and generated images. Default 50 megapixels.</summary>
    public long MaxImagePixels { get; set; } = 50_000_000;

    /// <summary>The longest prompt accepted, in characters. Default 2,000.</summary>
    public int MaxPromptLength { get; set; } = 2000;

    /// <summary>The most tags a job may carry. Default 20.</summary>
    public int MaxTags { get; set; } = 20;

    /// <summary>The longest tag, in characters. Default 40.</summary>
    public int MaxTagLength { get; set; } = 40;

    /// <summary>Whether hosts run the background worker. Default <see langword="true"/>; turn off for submit-only hosts.</summary>
    public bool RunWorker { get; set; } = true;

    /// <summary>How long a claim holds before another worker may take the job over. Renewed while the job runs. Default 60 s.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How many times a job is claimed before a transient failure fails it for good. Default 3.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>The first back-off before a failed attempt is retried; doubles with each attempt. Default 2 s.</summary>
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How soon an idle type's producer looks for work again when no wake-up (a submit on this host, a
    /// PostgreSQL notification) arrives. Each look that finds nothing doubles the wait, up to
    /// <see cref="MaxIdlePollInterval"/>; finding work resets it. Default 1 s.</summary>
    public TimeSpan IdlePollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest an idle type's producer waits between two looks for work when no wake-up arrives (the cap
    /// of the idle back-off). It bounds how late a job is seen that no wake-up announced: one submitted by another
    /// process on SQLite, or one whose retry back-off ran out. Default 5 s; at least <see cref="IdlePollInterval"/>.</summary>
    public TimeSpan MaxIdlePollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The shortest time between two claims of one type's producer on this host: wake-ups and finished jobs
    /// inside it are coalesced into one claim. Default 10 ms; 0 to 10 s.</summary>
    public TimeSpan FetchCooldown { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>How often <see cref="IGenerationPipeline.WatchAsync"/> re-reads a watched job while no store notification
    /// can announce its changes: always on SQLite (a job another process runs is seen this late), and on PostgreSQL while
    /// the LISTEN connection is down. Changes this host makes wake its watchers at once. Default 1 s; 10 ms to 1 min.</summary>
    public TimeSpan WatchPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How many claim statements this host runs at once across all types (each type's producer runs at most
    /// one at a time). Independent of how many jobs run: one claim takes up to a type's whole free in-flight capacity.
    /// Default 2; 1 to 64.</summary>
    public int MaxConcurrentClaims { get; set; } = 2;

    /// <summary>How often a pending provider job is polled when the provider gives no hint. Default 1 s.</summary>
    public TimeSpan ProviderPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest a provider job may stay pending. Default 10 min.</summary>
    public TimeSpan GenerationTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The longest a user-given image URL may take to download. Default 30 s.</summary>
    public TimeSpan ImageFetchTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Allows image URLs that resolve to loopback, private, link-local or other non-public addresses.
    /// Off by default: user-given URLs must not reach into the host's network.</summary>
    public bool AllowPrivateNetworkImageUrls { get; set; }

    /// <summary>The most memory, in bytes, that image work on this host may hold at once (decoded pixels and their
    /// working copies, estimated before decoding; see <see cref="Imaging.IImageMemoryBudget"/>). Work over the budget
    /// waits its turn; one image that alone needs more is refused as an invalid request. Default 1 GiB (about four sources
    /// at the default <see cref="MaxImagePixels"/> limit at once); at least <see cref="MinImageMemoryBudgetBytes"/>.</summary>
    public long ImageMemoryBudgetBytes { get; set; } = 1L << 30;

    /// <summary>The smallest accepted <see cref="ImageMemoryBudgetBytes"/>: 16 MiB.</summary>
    public const long MinImageMemoryBudgetBytes = 16L << 20;
}

/// <summary>Options of one generation type (named options, the name being the type's name).</summary>
public sealed class GenerationTypeOptions
{
    /// <summary>How many jobs of the type one host holds at once (claimed and not yet finished: calling the provider,
    /// polling it, storing the image). A job waiting on a remote provider costs a task and about a kilobyte, not a
    /// thread or a connection, so the default suits a remote AI provider. Default 256; 1 to 10,000.</summary>
    public int MaxInFlight { get; set; } = 256;

    /// <summary>The most jobs of the type outstanding at its provider at once, across every host sharing the store:
    /// <see cref="GenerationStatus.Processing"/> jobs, whether running on a host or parked at an asynchronous provider.
    /// Separate from <see cref="MaxInFlight"/>, which bounds what one host holds in memory (a parked job holds nothing).
    /// The claim counts and takes in one atomic store step, so hosts together never exceed it. Default
    /// <see langword="null"/>: no limit; 1 to 1,000,000.</summary>
    public int? MaxOutstanding { get; set; }

    /// <summary>The largest <see cref="MaxInFlight"/> accepted.</summary>
    public const int MaxInFlightLimit = 10_000;

    /// <summary>The longest one provider call may take. Default 2 min.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How many times a failed provider call is retried in place. Default 2.</summary>
    public int ProviderRetries { get; set; } = 2;

    /// <summary>The first delay between in-place retries (exponential, with jitter). Default 200 ms.</summary>
    public TimeSpan ProviderRetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The failure ratio that opens the type's circuit. Default 0.5.</summary>
    public double CircuitBreakerFailureRatio { get; set; } = 0.5;

    /// <summary>How many calls the circuit must see in its window before it may open. Default 10.</summary>
    public int CircuitBreakerMinimumThroughput { get; set; } = 10;

    /// <summary>The window over which failures are counted. Default 30 s.</summary>
    public TimeSpan CircuitBreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the circuit stays open. Default 30 s.</summary>
    public TimeSpan CircuitBreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(30);
}

internal sealed class StefnaOptionsValidator(StefnaConfigurationKeys keys) : IValidateOptions<StefnaOptions>
{
    public ValidateOptionsResult Validate(string? name, StefnaOptions options)
    {
        var failures = new List<string>();
        string K(string member) => keys.KeyOf<StefnaOptions>(name, member);
        if (options.MaxImageBytes <= 0) failures.Add($"{K(nameof(options.MaxImageBytes))} must be positive.");
        if (options.MaxImagePixels <= 0) failures.Add($"{K(nameof(options.MaxImagePixels))} must be positive.");
        if (options.MaxPromptLength is <= 0 or > 100_000) failures.Add($"{K(nameof(options.MaxPromptLength))} must be between 1 and 100000.");
        if (options.MaxTags is < 0 or > 1000) failures.Add($"{K(nameof(options.MaxTags))} must be between 0 and 1000.");
        if (options.MaxTagLength is <= 0 or > 200) failures.Add($"{K(nameof(options.MaxTagLength))} must be between 1 and 200.");
        if (options.LeaseDuration < TimeSpan.FromSeconds(1)) failures.Add($"{K(nameof(options.LeaseDuration))} must be at least 1 second.");
        if (options.MaxAttempts < 1) failures.Add($"{K(nameof(options.MaxAttempts))} must be at least 1.");
        if (options.RetryBackoff < TimeSpan.Zero) failures.Add($"{K(nameof(options.RetryBackoff))} must not be negative.");
        if (options.IdlePollInterval <= TimeSpan.Zero) failures.Add($"{K(nameof(options.IdlePollInterval))} must be positive.");
        if (options.MaxIdlePollInterval < options.IdlePollInterval) failures.Add($"{K(nameof(options.MaxIdlePollInterval))} must be at least IdlePollInterval.");
        if (options.FetchCooldown < TimeSpan.Zero || options.FetchCooldown > TimeSpan.FromSeconds(10)) failures.Add($"{K(nameof(options.FetchCooldown))} must be between 0 and 10 seconds.");
        if (options.WatchPollInterval < TimeSpan.FromMilliseconds(10) || options.WatchPollInterval > TimeSpan.FromMinutes(1)) failures.Add($"{K(nameof(options.WatchPollInterval))} must be between 10 milliseconds and 1 minute.");
        if (options.MaxConcurrentClaims is < 1 or > 64) failures.Add($"{K(nameof(options.MaxConcurrentClaims))} must be between 1 and 64.");
        if (options.ProviderPollInterval <= TimeSpan.Zero) failures.Add($"{K(nameof(options.ProviderPollInterval))} must be positive.");
        if (options.GenerationTimeout <= TimeSpan.Zero) failures.Add($"{K(nameof(options.GenerationTimeout))} must be positive.");
        if (options.ImageFetchTimeout <= TimeSpan.Zero) failures.Add($"{K(nameof(options.ImageFetchTimeout))} must be positive.");
        if (options.ImageMemoryBudgetBytes < StefnaOptions.MinImageMemoryBudgetBytes) failures.Add($"{K(nameof(options.ImageMemoryBudgetBytes))} must be at least {StefnaOptions.MinImageMemoryBudgetBytes} (16 MiB); was {options.ImageMemoryBudgetBytes}.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

internal sealed class GenerationTypeOptionsValidator(StefnaConfigurationKeys keys) : IValidateOptions<GenerationTypeOptions>
{
    public ValidateOptionsResult Validate(string? name, GenerationTypeOptions options)
    {
        var failures = new List<string>();
        string K(string member) => keys.KeyOf<GenerationTypeOptions>(name, member);
        if (options.MaxInFlight is < 1 or > GenerationTypeOptions.MaxInFlightLimit) failures.Add($"{K(nameof(options.MaxInFlight))} must be between 1 and {GenerationTypeOptions.MaxInFlightLimit}.");
        if (options.MaxOutstanding is < 1 or > 1_000_000) failures.Add($"{K(nameof(options.MaxOutstanding))} must be between 1 and 1,000,000 (or unset for no limit).");
        if (options.AttemptTimeout <= TimeSpan.Zero) failures.Add($"{K(nameof(options.AttemptTimeout))} must be positive.");
        if (options.ProviderRetries is < 0 or > 20) failures.Add($"{K(nameof(options.ProviderRetries))} must be between 0 and 20.");
        if (options.ProviderRetryDelay < TimeSpan.Zero) failures.Add($"{K(nameof(options.ProviderRetryDelay))} must not be negative.");
        if (options.CircuitBreakerFailureRatio is <= 0 or > 1) failures.Add($"{K(nameof(options.CircuitBreakerFailureRatio))} must be in (0, 1].");
        if (options.CircuitBreakerMinimumThroughput < 2) failures.Add($"{K(nameof(options.CircuitBreakerMinimumThroughput))} must be at least 2.");
        if (options.CircuitBreakerSamplingDuration < TimeSpan.FromMilliseconds(500)) failures.Add($"{K(nameof(options.CircuitBreakerSamplingDuration))} must be at least 500 ms.");
        if (options.CircuitBreakerBreakDuration < TimeSpan.FromMilliseconds(500)) failures.Add($"{K(nameof(options.CircuitBreakerBreakDuration))} must be at least 500 ms.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
