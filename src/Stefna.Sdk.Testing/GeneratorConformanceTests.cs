using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Polly.Registry;
using Stefna.Sdk.Assets;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Imaging;
using Stefna.Sdk.Providers;
using Xunit;

namespace Stefna.Sdk.Testing;

/// <summary>
/// The behaviour every generation type (<see cref="IGenerator"/> plug-in) must show, as xunit facts. A plug-in author
/// derives a test class from this one, says how the type registers and what valid and invalid requests look like,
/// and xunit runs every fact below against that type:
/// <code>
/// public sealed class RetroPosterConformanceTests : GeneratorConformanceTests
/// {
///     protected override void AddGenerationType(IStefnaBuilder stefna) =&gt; stefna.AddRetroPoster();
///
///     protected override GenerationRequest CreateValidRequest() =&gt; new()
///     {
///         Type = "retro-poster", UserId = "user-1", Image = ImageInput.FromBytes(SampleImages.Png()), Preset = "noir",
///     };
///
///     protected override IEnumerable&lt;InvalidRequestCase&gt; CreateInvalidRequests() =&gt;
///     [
///         new("unknown era", new() { Type = "retro-poster", UserId = "user-1", Preset = "jurassic" }, "era", "unknown_era"),
///     ];
/// }
/// </code>
/// </summary>
/// <remarks>
/// <para>The facts check that: the type registers with one call (a keyed <see cref="IGenerator"/>, its own resilience
/// pipeline and named options; a second call adds nothing); its <see cref="GenerationTypeDefinition"/> is well formed
/// (name and table patterns, extra columns that do not clash with the common ones, a sane catalogue and legacy rule);
/// every invalid request is refused with a typed <see cref="GenerationValidationException"/> naming the field and a
/// stable code, both by the generator and through the pipeline, with nothing written; a valid request prepares a spec
/// carrying the type's tags, the caller's tags and only the type's own columns; <see cref="IGenerator.CreateProviderRequest"/>
/// is deterministic for the same job; and one job runs end to end on the embedded default (SQLite, local files, the
/// offline provider) to a valid image, deterministic offline output and a completed row in the type's own table.</para>
/// <para>The end-to-end facts need <c>Stefna.Sdk.Sqlite</c> and <c>Stefna.Sdk.Providers.Offline</c>, which is why
/// this package depends on them; the generator under test needs nothing but <c>Stefna.Sdk</c>.</para>
/// </remarks>
public abstract partial class GeneratorConformanceTests : IAsyncLifetime
{
    /// <summary>A tag the suite adds to the valid request to check that callers' tags are kept.</summary>
    protected const string CallerTag = "conformance-caller-tag";

    private readonly List<IAsyncDisposable> _disposables = [];
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(3));
    private string? _typeName;

    /// <summary>Registers the generation type under test, with the one call its package offers
    /// (e.g. <c>stefna.AddRetroPoster()</c>).</summary>
    /// <param name="stefna">The Stefna builder.</param>
    protected abstract void AddGenerationType(IStefnaBuilder stefna);

    /// <summary>A request the type accepts. It must name the type, have a user id and, when the type needs one, a
    /// source image (<see cref="SampleImages.Png"/> makes one). The suite calls this more than once.</summary>
    /// <returns>A new request.</returns>
    protected abstract GenerationRequest CreateValidRequest();

    /// <summary>Requests the type must refuse (at least one), with the field and code the refusal must carry. Only
    /// requests the generator itself refuses belong here; a missing image or user id is the pipeline's business.</summary>
    /// <returns>The cases.</returns>
    protected abstract IEnumerable<InvalidRequestCase> CreateInvalidRequests();

    /// <summary>The tags every job of the type must carry. Default: the type's name.</summary>
    protected virtual IEnumerable<string> ExpectedTypeTags => [TypeName];

    /// <summary>Adds or overrides services after the composition (prompt policies, options the type needs).</summary>
    /// <param name="services">The services.</param>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    /// <summary>The type's name, as registered by <see cref="AddGenerationType"/>.</summary>
    protected string TypeName => _typeName ??= DiscoverTypeName();

    /// <summary>A token that cancels a fact that hangs (three minutes).</summary>
    protected CancellationToken Ct => _timeout.Token;

    /// <inheritdoc />
#if XUNIT_V3
    public virtual ValueTask InitializeAsync() => ValueTask.CompletedTask;
#else
    public virtual Task InitializeAsync() => Task.CompletedTask;
#endif

    /// <summary>Disposes the hosts the facts created. Overrides must call the base.</summary>
    /// <returns>A task that completes when everything is disposed.</returns>
#if XUNIT_V3
    public virtual async ValueTask DisposeAsync()
#else
    public virtual async Task DisposeAsync()
#endif
    {
        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }

        _disposables.Clear();
        _timeout.Dispose();
    }

    /// <summary>Registering the type adds exactly one keyed <see cref="IGenerator"/>, its own resilience pipeline and
    /// named options; registering it again (or calling <c>AddStefna()</c> again) adds no service (only options
    /// configuration, which is additive by design, may repeat).</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Registers_with_one_call_as_a_keyed_generator_and_a_second_call_adds_nothing()
    {
        var services = new ServiceCollection();
        AddGenerationType(services.AddStefna());
        var once = Snapshot(services);
        AddGenerationType(services.AddStefna());
        var added = Snapshot(services);
        foreach (var entry in once)
        {
            added.Remove(entry);
        }

        // Options configuration may repeat (configure callbacks are additive by design); services must not.
        Assert.True(added.Count == 0, "A second registration added services: " + string.Join(", ", added));
        Assert.Equal(1, services.Count(d => d.ServiceType == typeof(IGenerator) && d.IsKeyedService && Equals(d.ServiceKey, TypeName)));

        var host = await CreateHostAsync();
        var first = host.Services.GetRequiredKeyedService<IGenerator>(TypeName);
        Assert.Same(first, host.Services.GetRequiredKeyedService<IGenerator>(TypeName));
        Assert.Equal(TypeName, first.Definition.Name);
        Assert.Contains(host.Pipeline.Types, d => d.Name == TypeName && d.TableName == first.Definition.TableName);
        Assert.NotNull(host.Services.GetRequiredService<ResiliencePipelineProvider<string>>().GetPipeline<ProviderResponse>(TypeName));
        var options = host.Services.GetRequiredService<IOptionsMonitor<GenerationTypeOptions>>().Get(TypeName);
        Assert.InRange(options.MaxInFlight, 1, GenerationTypeOptions.MaxInFlightLimit);
    }

    /// <summary>The definition's name and table follow the SDK's patterns, its extra columns are identifiers that do
    /// not repeat a common column, and its catalogue and legacy rule (if any) are sane.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Definition_is_well_formed()
    {
        var definition = (await GeneratorAsync()).Definition;
        var problems = new List<string>();
        Check(problems, definition.Name == TypeName, $"Definition.Name '{definition.Name}' differs from the registration key '{TypeName}'.");
        Check(problems, TypeNamePattern().IsMatch(definition.Name), $"Name '{definition.Name}' must be lower-case words joined by '-' ({TypeNamePattern()}).");
        Check(problems, IdentifierPattern().IsMatch(definition.TableName), $"Table '{definition.TableName}' must be a lower-case SQL identifier ({IdentifierPattern()}).");
        Check(problems, !definition.TableName.StartsWith("sqlite_", StringComparison.Ordinal) && !definition.TableName.StartsWith("pg_", StringComparison.Ordinal),
            $"Table '{definition.TableName}' uses a prefix the databases reserve (sqlite_, pg_).");
        Check(problems, definition.TableName != "media_assets", "Table 'media_assets' is the legacy table; a type needs its own.");
        Check(problems, !string.IsNullOrWhiteSpace(definition.DisplayName), "DisplayName is blank.");
        Check(problems, !string.IsNullOrWhiteSpace(definition.Description), "Description is blank: say in a sentence what the type does.");
        foreach (var column in definition.ExtraColumns)
        {
            Check(problems, IdentifierPattern().IsMatch(column), $"Extra column '{column}' is not a lower-case SQL identifier.");
            Check(problems, !GenerationTypeDefinition.CommonColumns.Contains(column), $"Extra column '{column}' repeats a common column.");
        }

        var duplicate = definition.ExtraColumns.GroupBy(c => c, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        Check(problems, duplicate is null, $"Extra column '{duplicate?.Key}' is listed twice.");
        if (definition.Catalog is { } catalog)
        {
            Check(problems, catalog.TableName != definition.TableName, "The catalogue table must differ from the type's table.");
            Check(problems, catalog.Entries.Count > 0, "The catalogue has no entries.");
            Check(problems, catalog.Entries.All(e => !string.IsNullOrWhiteSpace(e.Key) && !string.IsNullOrWhiteSpace(e.Name)), "A catalogue entry has a blank key or name.");
        }

        if (definition.LegacyRule is { } rule)
        {
            var signals = rule.GenerationTypes.Concat(rule.Modes).Concat(rule.PresetKeyPrefixes).Concat(rule.PresetKeys).ToList();
            Check(problems, signals.All(s => !string.IsNullOrWhiteSpace(s)), "The legacy rule has a blank signal.");
            Check(problems, signals.Count > 0 || rule.IsPromptFallback, "The legacy rule recognises nothing: give it signals or leave LegacyRule unset.");
        }

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    /// <summary>Every invalid request makes <see cref="IGenerator.PrepareAsync"/> throw a
    /// <see cref="GenerationValidationException"/> with the expected field and an <c>invalid_request.*</c> code.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Invalid_requests_are_refused_with_a_typed_error_naming_field_and_code()
    {
        var generator = await GeneratorAsync();
        var cases = InvalidCases();
        var problems = new List<string>();
        foreach (var invalid in cases)
        {
            try
            {
                await generator.PrepareAsync(invalid.Request, Ct);
                problems.Add($"'{invalid.Description}': accepted, expected a refusal of field '{invalid.Field}'.");
            }
            catch (GenerationValidationException ex)
            {
                CheckRefusal(problems, invalid, ex);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                problems.Add($"'{invalid.Description}': threw {ex.GetType().Name} ({ex.Message}); expected GenerationValidationException.");
            }
        }

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    /// <summary>Submitted through the pipeline, every invalid request is refused the same way and nothing is written:
    /// no row in the type's table, nothing queued, no image file.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Invalid_requests_submitted_through_the_pipeline_write_nothing()
    {
        var host = await CreateHostAsync();
        var table = (await GeneratorAsync()).Definition.TableName;
        var problems = new List<string>();
        foreach (var invalid in InvalidCases())
        {
            try
            {
                var ticket = await host.Pipeline.SubmitAsync(invalid.Request, Ct);
                problems.Add($"'{invalid.Description}': the pipeline accepted it as job {ticket.Id}.");
            }
            catch (GenerationValidationException ex)
            {
                CheckRefusal(problems, invalid, ex);
            }
        }

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
        Assert.Equal(0, await host.CountRowsAsync(table, Ct));
        Assert.Empty(host.ImageFiles());
    }

    /// <summary>A valid request prepares a spec with the type's tags and the caller's, normalised, only the type's own
    /// columns, and the same spec every time.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Valid_request_prepares_a_spec_with_the_type_tags()
    {
        var generator = await GeneratorAsync();
        var request = WithCallerTag(CreateValidRequest());
        Assert.Equal(TypeName, request.Type);
        var spec = await generator.PrepareAsync(request, Ct);

        foreach (var tag in ExpectedTypeTags.Append(CallerTag))
        {
            Assert.Contains(tag, spec.Tags);
        }

        Assert.Equal(spec.Tags.Count, spec.Tags.Distinct(StringComparer.Ordinal).Count());
        Assert.All(spec.Tags, t => Assert.True(t.Length > 0 && t == t.ToLowerInvariant() && !t.Any(char.IsWhiteSpace), $"Tag '{t}' is not normalised."));
        Assert.All(spec.Columns.Keys, c => Assert.Contains(c, generator.Definition.ExtraColumns));

        var again = await generator.PrepareAsync(WithCallerTag(CreateValidRequest()), Ct);
        Assert.Equal(Describe(spec), Describe(again));
    }

    /// <summary><see cref="IGenerator.CreateProviderRequest"/> gives the same request for the same job, on the same
    /// generator and on a generator from another container (no hidden state, no clock, no randomness).</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task CreateProviderRequest_is_deterministic_for_the_same_job()
    {
        var generator = await GeneratorAsync();
        var request = CreateValidRequest();
        var spec = await generator.PrepareAsync(request, Ct);
        var job = JobFrom(spec, new Guid("0193c9a2-5f1e-7c3a-9b1d-4e2f6a8b0c11"));
        var source = SourceOf(request);

        var first = generator.CreateProviderRequest(job, source);
        var second = generator.CreateProviderRequest(job, source);
        var elsewhere = (await GeneratorAsync()).CreateProviderRequest(job, source);

        Assert.Equal(job.Id, first.JobId);
        Assert.Equal(TypeName, first.Type);
        Assert.False(string.IsNullOrWhiteSpace(first.Prompt), "The provider request has no prompt.");
        Assert.Equal(Describe(first), Describe(second));
        Assert.Equal(Describe(first), Describe(elsewhere));
    }

    /// <summary>One job runs end to end on the embedded default: a queued row in the type's own table at submit, then
    /// a completed row with a valid image on disk; and the offline provider renders the same job to the same bytes.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task A_job_runs_end_to_end_on_the_embedded_default()
    {
        var host = await CreateHostAsync();
        var definition = (await GeneratorAsync()).Definition;
        var request = CreateValidRequest();

        var ticket = await host.Pipeline.SubmitAsync(request, Ct);
        Assert.Equal(TypeName, ticket.Type);
        Assert.Equal(GenerationStatus.Queued, ticket.Status);
        var queued = await host.ReadRowAsync(definition.TableName, ticket.Id, Ct);
        Assert.NotNull(queued);
        Assert.Equal("queued", queued["status"]);
        var columns = await host.GetColumnsAsync(definition.TableName, Ct);
        Assert.All(definition.ExtraColumns, c => Assert.Contains(c, columns));

        await host.RunUntilIdleAsync(Ct);

        var job = await host.Pipeline.GetStatusAsync(TypeName, ticket.Id, request.UserId, Ct);
        Assert.NotNull(job);
        Assert.True(job.Status == GenerationStatus.Completed, $"The job ended {job.Status}: {job.Error?.Code} {job.Error?.Message}");
        Assert.Null(job.Error);
        Assert.NotNull(job.ImageUrl);
        Assert.Equal("offline", job.Meta.GetValueOrDefault("provider"));

        var assets = host.Services.GetRequiredService<IAssetStorage>();
        var stored = (await assets.ReadAsync(job.ImageUrl, Ct)).ToArray();
        Assert.True(ImageInspector.TryInspect(stored, out var info) && info is not null, "The stored result is not a valid image.");
        Assert.True(info.Width > 0 && info.Height > 0);

        var row = await host.ReadRowAsync(definition.TableName, ticket.Id, Ct);
        Assert.NotNull(row);
        Assert.Equal("completed", row["status"]);
        Assert.Equal(job.ImageUrl, row["image_url"]);

        // The same job rendered twice more by the offline provider: same bytes, and the bytes that were stored.
        var source = job.SourceImageUrl is { } sourceUrl ? Content((await assets.ReadAsync(sourceUrl, Ct)).ToArray()) : null;
        var claimed = job with { Status = GenerationStatus.Processing, ImageUrl = null, Error = null };
        var generator = host.Services.GetRequiredKeyedService<IGenerator>(TypeName);
        var provider = host.Services.GetRequiredService<IImageProvider>();
        var again = await RenderAsync(provider, generator.CreateProviderRequest(claimed, source));
        var onceMore = await RenderAsync(provider, generator.CreateProviderRequest(claimed, source));
        Assert.Equal(again, onceMore);
        Assert.Equal(stored, again);
    }
}
