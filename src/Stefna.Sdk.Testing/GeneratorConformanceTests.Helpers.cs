using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Imaging;
using Stefna.Sdk.Providers;
using Xunit;

namespace Stefna.Sdk.Testing;

// The suite's helpers: hosts and generators per fact, the job a store would hand out, and how refusals, specs and
// provider requests are checked and described.
public abstract partial class GeneratorConformanceTests
{
    /// <summary>A new embedded-default host with the type registered, disposed after the fact.</summary>
    /// <returns>The host.</returns>
    protected Task<EmbeddedDefaultHost> CreateHostAsync()
    {
        var host = EmbeddedDefaultHost.Create(AddGenerationType, ConfigureServices);
        _disposables.Add(host);
        return Task.FromResult(host);
    }

    /// <summary>The generator as the core resolves it (keyed by the type's name), from a container of its own.</summary>
    /// <returns>The generator.</returns>
    protected async Task<IGenerator> GeneratorAsync() =>
        (await CreateHostAsync()).Services.GetRequiredKeyedService<IGenerator>(TypeName);

    /// <summary>A claimed job holding what a spec says, as a store hands it to a worker.</summary>
    /// <param name="spec">The prepared spec.</param>
    /// <param name="id">The job id.</param>
    /// <returns>The job.</returns>
    protected GenerationJob JobFrom(GenerationSpec spec, Guid id)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new GenerationJob
        {
            Id = id,
            Type = TypeName,
            UserId = "conformance-user",
            Status = GenerationStatus.Processing,
            Prompt = spec.Prompt,
            Preset = spec.Preset,
            SourceImageUrl = "file:///conformance/source.png",
            Tags = spec.Tags,
            Meta = spec.Meta,
            Columns = spec.Columns,
            Attempts = 1,
            CreatedAt = new DateTimeOffset(2025, 1, 6, 12, 0, 0, TimeSpan.Zero),
            UpdatedAt = new DateTimeOffset(2025, 1, 6, 12, 0, 0, TimeSpan.Zero),
        };
    }

    private List<InvalidRequestCase> InvalidCases()
    {
        var cases = CreateInvalidRequests()?.ToList() ?? [];
        Assert.True(cases.Count > 0, "CreateInvalidRequests() must return at least one request the type refuses.");
        return cases;
    }

    private string DiscoverTypeName()
    {
        var services = new ServiceCollection();
        AddGenerationType(services.AddStefna());
        var keys = services
            .Where(d => d.ServiceType == typeof(IGenerator) && d.IsKeyedService)
            .Select(d => d.ServiceKey as string)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        Assert.True(keys.Count == 1 && keys[0] is not null,
            $"AddGenerationType must register exactly one generation type (a keyed IGenerator, as AddGenerator<T>() does); found {keys.Count}.");
        return keys[0]!;
    }

    private static List<string> Snapshot(IServiceCollection services) =>
        [.. services
            .Where(d => !IsOptionsConfiguration(d.ServiceType))
            .Select(d => $"{d.ServiceType.FullName}|{d.ServiceKey}|{d.Lifetime}|{(d.IsKeyedService ? d.KeyedImplementationType : d.ImplementationType)?.FullName}")];

    private static bool IsOptionsConfiguration(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() is var definition
            && (definition == typeof(IConfigureOptions<>) || definition == typeof(IPostConfigureOptions<>)
                || definition == typeof(IValidateOptions<>) || definition == typeof(IOptionsChangeTokenSource<>));

    private static void CheckRefusal(List<string> problems, InvalidRequestCase invalid, GenerationValidationException ex)
    {
        if (!string.Equals(ex.Field, invalid.Field, StringComparison.Ordinal))
        {
            problems.Add($"'{invalid.Description}': refused for field '{ex.Field}' ({ex.Message}); expected '{invalid.Field}'.");
        }

        if (ex.Category != GenerationErrorCategory.InvalidRequest || !ex.Code.StartsWith("invalid_request.", StringComparison.Ordinal))
        {
            problems.Add($"'{invalid.Description}': code '{ex.Code}' / category {ex.Category}; expected invalid_request.*.");
        }

        if (invalid.Code is { } code)
        {
            var expected = code.StartsWith("invalid_request.", StringComparison.Ordinal) ? code : "invalid_request." + code;
            if (ex.Code != expected)
            {
                problems.Add($"'{invalid.Description}': code '{ex.Code}'; expected '{expected}'.");
            }
        }

        if (string.IsNullOrWhiteSpace(ex.Message))
        {
            problems.Add($"'{invalid.Description}': the refusal has no message.");
        }
    }

    private static GenerationRequest WithCallerTag(GenerationRequest request) => new()
    {
        Type = request.Type,
        UserId = request.UserId,
        Image = request.Image,
        Prompt = request.Prompt,
        Preset = request.Preset,
        Options = request.Options,
        Tags = [.. request.Tags, CallerTag],
        IdempotencyKey = request.IdempotencyKey,
    };

    private static ImageContent? SourceOf(GenerationRequest request)
    {
        if (request.Image?.Bytes is { } bytes)
        {
            return Content(bytes.ToArray());
        }

        return request.Image?.FilePath is { } path ? Content(File.ReadAllBytes(path)) : Content(SampleImages.Png());
    }

    private static ImageContent Content(byte[] bytes) => new(bytes, ImageInspector.Inspect(bytes));

    private async Task<byte[]> RenderAsync(IImageProvider provider, ProviderRequest request)
    {
        var response = await provider.SubmitAsync(request, Ct);
        var completed = Assert.IsType<ProviderResponse.Completed>(response);
        Assert.NotNull(completed.Image.Bytes);
        return completed.Image.Bytes.Value.ToArray();
    }

    private static string Describe(GenerationSpec spec) =>
        $"prompt={spec.Prompt}|preset={spec.Preset}|tags={string.Join(",", spec.Tags)}|meta={Pairs(spec.Meta)}|columns={Pairs(spec.Columns)}";

    private static string Describe(ProviderRequest request)
    {
        var text = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"job={request.JobId}|type={request.Type}|prompt={request.Prompt}|model={request.Model}")
            .Append(CultureInfo.InvariantCulture, $"|strength={request.Strength}|seed={request.Seed}|size={request.ImageSize}|sourceUrl={request.SourceImageUrl}")
            .Append(CultureInfo.InvariantCulture, $"|parameters={Pairs(request.Parameters)}|look={request.Look}");
        if (request.SourceImage is { } image)
        {
            text.Append(CultureInfo.InvariantCulture, $"|source={image.Info}:{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(image.Bytes.Span))}");
        }

        return text.ToString();
    }

    private static string Pairs<TValue>(IReadOnlyDictionary<string, TValue> pairs) =>
        string.Join(",", pairs.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));

    private static void Check(List<string> problems, bool condition, string problem)
    {
        if (!condition)
        {
            problems.Add(problem);
        }
    }

    [GeneratedRegex("^[a-z][a-z0-9]*(-[a-z0-9]+)*$")]
    private static partial Regex TypeNamePattern();

    [GeneratedRegex("^[a-z][a-z0-9_]{0,62}$")]
    private static partial Regex IdentifierPattern();
}
