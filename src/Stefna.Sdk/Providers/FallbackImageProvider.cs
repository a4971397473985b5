using System.Diagnostics;
using System.Diagnostics.Metrics;
using Polly;
using Polly.CircuitBreaker;
using Stefna.Sdk.Diagnostics;

namespace Stefna.Sdk.Providers;

/// <summary>Options of a <see cref="FallbackImageProvider"/>: each member's own circuit breaker.</summary>
public sealed class FallbackProviderOptions
{
    /// <summary>The share of failed calls (over 0, at most 1) at which a member's circuit opens. Default 0.5.</summary>
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>How many calls a member must see in <see cref="SamplingDuration"/> before its circuit may open. Default 3.</summary>
    public int MinimumThroughput { get; set; } = 3;

    /// <summary>The window the failure ratio is measured over. Default 30 s.</summary>
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an open circuit skips its member before one trial call. Default 30 s.</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// An ordered list of providers for one type: a job goes to the first whose circuit is closed; when that member is
/// unavailable (a <see cref="GenerationErrorCategory.ProviderUnavailable"/>, timeout, malformed answer or unclassified
/// failure) or its circuit is open, the next one serves it. A refusal that another provider would repeat (invalid
/// request, content policy) is not retried elsewhere. The image's meta names the member that produced it
/// (<c>provider</c>, plus the member's <c>model</c>); calls are counted per member in the <c>stefna.provider.calls</c>
/// metric (tags <c>stefna.type</c>, <c>stefna.provider</c>, <c>stefna.provider.outcome</c>). Registered per type with
/// <c>UseProviders(type, ...)</c>; the type's own resilience pipeline still wraps the whole list.
/// </summary>
/// <remarks>A member that answers "pending" owns the job: its provider job id is stored as <c>&lt;member&gt;|&lt;id&gt;</c>
/// and polls go back to that member (by name, so member names must differ).</remarks>
public sealed class FallbackImageProvider : IImageProvider
{
    /// <summary>The tag naming the member provider.</summary>
    public const string ProviderTag = "stefna.provider";

    /// <summary>The tag with a call's outcome: <c>success</c>, <c>failure</c> or <c>circuit_open</c>.</summary>
    public const string OutcomeTag = "stefna.provider.outcome";

    private readonly Counter<long>? _calls;
    private readonly Counter<long>? _fallbacks;
    private readonly (IImageProvider Provider, ResiliencePipeline Circuit)[] _members;

    /// <summary>Creates the list.</summary>
    /// <param name="providers">The providers, in order of preference; names must differ.</param>
    /// <param name="options">The members' circuit breakers.</param>
    /// <param name="time">The clock of the circuit breakers.</param>
    /// <param name="meterFactory">Creates the meter (<see cref="StefnaTelemetry.Name"/>) of the <c>stefna.provider.calls</c>
    /// and <c>stefna.provider.fallbacks</c> counters: the host's, so its listeners see them (<c>UseProviders</c> passes
    /// it). Without one, nothing is measured.</param>
    public FallbackImageProvider(IReadOnlyList<IImageProvider> providers, FallbackProviderOptions? options = null, TimeProvider? time = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(providers);
        if (providers.Count == 0)
        {
            throw new ArgumentException("A fallback list needs at least one provider.", nameof(providers));
        }

        var duplicate = providers.GroupBy(p => p.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"Two providers in the fallback list are named '{duplicate.Key}'; names must differ so polls find their provider.", nameof(providers));
        }

        options ??= new FallbackProviderOptions();
        _members = [.. providers.Select(p => (p, new ResiliencePipelineBuilder { TimeProvider = time ?? TimeProvider.System }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(ShouldFallBack),
                FailureRatio = options.FailureRatio,
                MinimumThroughput = options.MinimumThroughput,
                SamplingDuration = options.SamplingDuration,
                BreakDuration = options.BreakDuration,
                Name = $"fallback-{p.Name}",
            })
            .Build()))];
        Name = "fallback(" + string.Join(",", providers.Select(p => p.Name)) + ")";
        if (meterFactory is not null)
        {
            var meter = StefnaMetrics.Create(meterFactory);
            _calls = meter.CreateCounter<long>("stefna.provider.calls", "{call}", "Calls to each provider of a fallback list, by outcome.");
            _fallbacks = meter.CreateCounter<long>("stefna.provider.fallbacks", "{job}", "Jobs served by a provider other than the first of their list.");
        }
    }

    /// <summary><c>fallback(first,second,…)</c>; the image's meta names the member that served it.</summary>
    public string Name { get; }

    /// <summary>The members, in order.</summary>
    public IReadOnlyList<IImageProvider> Providers => [.. _members.Select(m => m.Provider)];

    /// <inheritdoc />
    public async ValueTask<ProviderResponse> SubmitAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var failures = new List<string>();
        var allOpen = true;
        for (var i = 0; i < _members.Length; i++)
        {
            var (provider, circuit) = _members[i];
            try
            {
                var response = await circuit.ExecuteAsync(static (state, ct) => state.provider.SubmitAsync(state.request, ct), (provider, request), cancellationToken).ConfigureAwait(false);
                Count(request.Type, provider.Name, "success");
                if (i > 0)
                {
                    _fallbacks?.Add(1, new TagList { { StefnaTelemetry.TypeTag, request.Type }, { ProviderTag, provider.Name } });
                    Activity.Current?.SetTag("stefna.provider.fallback", provider.Name);
                }

                return response switch
                {
                    ProviderResponse.Completed completed => new ProviderResponse.Completed(completed.Image with { Meta = Named(completed.Image.Meta, provider.Name) }),
                    ProviderResponse.Pending pending => pending with { ProviderJobId = provider.Name + "|" + pending.ProviderJobId },
                    _ => response,
                };
            }
            catch (BrokenCircuitException)
            {
                Count(request.Type, provider.Name, "circuit_open");
                failures.Add($"{provider.Name}: circuit open");
            }
            catch (Exception ex) when (ShouldFallBack(ex))
            {
                Count(request.Type, provider.Name, "failure");
                allOpen = false;
                failures.Add($"{provider.Name}: {ex.Message}");
            }
        }

        throw allOpen
            ? new GenerationException(GenerationErrorCategory.ProviderUnavailable, $"Every provider for {request.Type} is failing repeatedly and paused (circuits open): {string.Join("; ", failures)}. Try again shortly.", "provider_unavailable.circuit_open")
            : new GenerationException(GenerationErrorCategory.ProviderUnavailable, $"No provider for {request.Type} could serve the job: {string.Join("; ", failures)}", "provider_unavailable.all_failed");
    }

    /// <inheritdoc />
    public ValueTask<ProviderResponse> PollAsync(string providerJobId, ProviderRequest request, CancellationToken cancellationToken)
    {
        var (member, id) = Member(providerJobId);
        return PollMemberAsync(member, id, request, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask CancelAsync(string providerJobId, CancellationToken cancellationToken)
    {
        var (member, id) = Member(providerJobId);
        return member.CancelAsync(id, cancellationToken);
    }

    // A pending id carries the member's name, so polls and cancels return to the provider that accepted the job.
    private (IImageProvider Member, string Id) Member(string providerJobId)
    {
        ArgumentNullException.ThrowIfNull(providerJobId);
        var separator = providerJobId.IndexOf('|', StringComparison.Ordinal);
        var name = separator < 0 ? null : providerJobId[..separator];
        var member = _members.FirstOrDefault(m => m.Provider.Name == name).Provider
            ?? throw new GenerationException(GenerationErrorCategory.Internal, $"The provider job id '{providerJobId}' names no provider of {Name}; was the list changed while the job was parked?");
        return (member, providerJobId[(separator + 1)..]);
    }

    private static async ValueTask<ProviderResponse> PollMemberAsync(IImageProvider member, string id, ProviderRequest request, CancellationToken cancellationToken) =>
        await member.PollAsync(id, request, cancellationToken).ConfigureAwait(false) switch
        {
            ProviderResponse.Completed completed => new ProviderResponse.Completed(completed.Image with { Meta = Named(completed.Image.Meta, member.Name) }),
            ProviderResponse.Pending pending => pending with { ProviderJobId = member.Name + "|" + pending.ProviderJobId },
            var other => other,
        };

    private static Dictionary<string, string> Named(IReadOnlyDictionary<string, string> meta, string provider) =>
        new(meta, StringComparer.Ordinal) { ["provider"] = provider };

    private void Count(string type, string provider, string outcome) =>
        _calls?.Add(1, new TagList { { StefnaTelemetry.TypeTag, type }, { ProviderTag, provider }, { OutcomeTag, outcome } });

    // Worth another provider: it was unreachable, slow, answered garbage or failed in a way nobody classified.
    // Not: the request is wrong or its content refused (another provider would say the same), or the call was canceled.
    private static bool ShouldFallBack(Exception exception) => exception switch
    {
        OperationCanceledException => false,
        GenerationException g => g.Category is GenerationErrorCategory.ProviderUnavailable or GenerationErrorCategory.Timeout or GenerationErrorCategory.ProviderError,
        BrokenCircuitException => false,
        _ => true,
    };
}
