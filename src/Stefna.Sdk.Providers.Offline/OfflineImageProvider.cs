using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Imaging;
using Stefna.Sdk.Providers.Offline.Rendering;

namespace Stefna.Sdk.Providers.Offline;

/// <summary>
/// An image provider that needs no network and no keys: it applies a real, deterministic image effect to the source
/// photo with SkiaSharp (or, with no source, draws a canvas from the prompt and applies the effect to that) and
/// answers at once with a PNG. The effect is the request's <see cref="ProviderRequest.Look"/>, a recipe the type's
/// package wrote (the provider names no type); a request without one gets a generic look from its type's name. The
/// same request with the same source bytes always gives byte-identical output. Thread-safe.
/// </summary>
public sealed class OfflineImageProvider : IImageProvider
{
    /// <summary>The provider's name, <c>offline</c>.</summary>
    public const string ProviderName = "offline";

    private static readonly OfflineProviderOptionsValidator Validator = new();

    private readonly OfflineProviderOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IImageMemoryBudget _memory;

    /// <summary>Creates the provider.</summary>
    /// <param name="options">The provider's options; checked here as well as at start-up.</param>
    /// <param name="timeProvider">The clock that <see cref="OfflineProviderOptions.SimulatedLatency"/> is awaited on; the system clock when omitted.</param>
    /// <param name="logger">The logger; none when omitted.</param>
    /// <param name="memoryBudget">The host's budget of decoded-image memory (registered by <c>AddStefna()</c>); every
    /// render reserves what it will hold before decoding. When omitted, the provider has a budget of its own with the
    /// default size (<see cref="Configuration.StefnaOptions.ImageMemoryBudgetBytes"/>).</param>
    /// <exception cref="OptionsValidationException">The options are out of range.</exception>
    public OfflineImageProvider(IOptions<OfflineProviderOptions> options, TimeProvider? timeProvider = null, ILogger<OfflineImageProvider>? logger = null, IImageMemoryBudget? memoryBudget = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var value = options.Value;
        var validation = Validator.Validate(Options.DefaultName, value);
        if (validation.Failed)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(OfflineProviderOptions), validation.Failures);
        }

        // A private copy: later changes to the caller's options object cannot change a running provider.
        _options = new OfflineProviderOptions
        {
            MaxDimension = value.MaxDimension,
            MaxSourcePixels = value.MaxSourcePixels,
            SimulatedLatency = value.SimulatedLatency,
        };
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _memory = memoryBudget ?? new ImageMemoryBudget(new Configuration.StefnaOptions().ImageMemoryBudgetBytes);
    }

    /// <inheritdoc />
    public string Name => ProviderName;

    /// <inheritdoc />
    /// <exception cref="GenerationException">The source image cannot be decoded or is too large (<see cref="GenerationErrorCategory.InvalidRequest"/>),
    /// including for the whole memory budget (<see cref="ImageMemoryBudget.OverBudgetCode"/>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled, including during the simulated latency.</exception>
    public async ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_options.SimulatedLatency > TimeSpan.Zero)
        {
            await Task.Delay(_options.SimulatedLatency, _time, cancellationToken).ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        var started = _time.GetTimestamp();
        RenderResult result;
        try
        {
            result = await OfflineRenderer.RenderAsync(request, _options, _memory, cancellationToken).ConfigureAwait(false);
        }
        catch (GenerationException ex) when (ex.Category == GenerationErrorCategory.InvalidRequest)
        {
            Log.SourceRefused(_logger, request.JobId, request.Type, ex.Message);
            throw;
        }

        Log.Rendered(_logger, request.JobId, request.Type, result.Effect, result.Width, result.Height, result.FromSource ? "source" : "prompt", (long)_time.GetElapsedTime(started).TotalMilliseconds);
        return new ProviderResponse.Completed(new ProviderImage
        {
            Bytes = result.Png,
            Meta = new Dictionary<string, string>
            {
                ["provider"] = ProviderName,
                ["effect"] = result.Effect,
                ["seed"] = result.Seed.ToString(CultureInfo.InvariantCulture),
                ["width"] = result.Width.ToString(CultureInfo.InvariantCulture),
                ["height"] = result.Height.ToString(CultureInfo.InvariantCulture),
                ["source"] = result.FromSource ? "image" : "prompt",
            },
        });
    }

    /// <summary>Not supported: the offline provider always answers at once from <see cref="SubmitAsync"/>.</summary>
    /// <param name="providerJobId">Unused.</param>
    /// <param name="request">Unused.</param>
    /// <param name="cancellationToken">Unused.</param>
    /// <returns>Never returns.</returns>
    /// <exception cref="NotSupportedException">Always.</exception>
    public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken) =>
        throw new NotSupportedException("The offline provider answers at once from SubmitAsync; it has no jobs to poll.");
}
