using Microsoft.Extensions.Options;
using Stefna.Sdk.Configuration;

namespace Stefna.Sdk.Providers.Offline;

/// <summary>Settings of the offline image provider.</summary>
public sealed class OfflineProviderOptions
{
    /// <summary>The key of these options under the Stefna configuration section: <c>Offline</c>.</summary>
    public const string ConfigurationKey = "Offline";

    /// <summary>The smallest accepted <see cref="MaxDimension"/>.</summary>
    public const int MinimumDimension = 16;

    /// <summary>The largest accepted <see cref="MaxDimension"/>.</summary>
    public const int MaximumDimension = 8192;

    /// <summary>The longest side, in pixels, of the images the provider works on and returns: larger sources are
    /// downscaled (aspect ratio kept) before the effect runs. Text-to-image canvases are 512×512, or this size when
    /// it is smaller. Default 1024; must be between <see cref="MinimumDimension"/> and <see cref="MaximumDimension"/>.</summary>
    public int MaxDimension { get; set; } = 1024;

    /// <summary>The largest source, in width × height pixels, the provider decodes; larger sources are refused as an
    /// invalid request before any pixel memory is allocated. Default 50,000,000 (the SDK's own default limit).</summary>
    public long MaxSourcePixels { get; set; } = 50_000_000;

    /// <summary>A delay awaited (through the registered <see cref="TimeProvider"/>, honouring cancellation) before each
    /// generation, so tests and benchmarks can emulate a slow remote provider. Default zero; at most one day.</summary>
    public TimeSpan SimulatedLatency { get; set; } = TimeSpan.Zero;
}

/// <summary>Checks <see cref="OfflineProviderOptions"/> at start-up.</summary>
internal sealed class OfflineProviderOptionsValidator(StefnaConfigurationKeys keys) : IValidateOptions<OfflineProviderOptions>
{
    private static readonly TimeSpan MaxLatency = TimeSpan.FromDays(1);

    public ValidateOptionsResult Validate(string? name, OfflineProviderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        string K(string member) => keys.KeyOf<OfflineProviderOptions>(name, member);
        if (options.MaxDimension is < OfflineProviderOptions.MinimumDimension or > OfflineProviderOptions.MaximumDimension)
        {
            failures.Add($"{K(nameof(options.MaxDimension))} must be between {OfflineProviderOptions.MinimumDimension} and {OfflineProviderOptions.MaximumDimension} (was {options.MaxDimension}).");
        }

        if (options.MaxSourcePixels is <= 0 or > 500_000_000)
        {
            failures.Add($"{K(nameof(options.MaxSourcePixels))} must be between 1 and 500000000 (was {options.MaxSourcePixels}).");
        }

        if (options.SimulatedLatency < TimeSpan.Zero || options.SimulatedLatency > MaxLatency)
        {
            failures.Add($"{K(nameof(options.SimulatedLatency))} must be between zero and one day (was {options.SimulatedLatency}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
