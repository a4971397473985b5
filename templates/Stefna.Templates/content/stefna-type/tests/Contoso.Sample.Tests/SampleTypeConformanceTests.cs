using Microsoft.Extensions.DependencyInjection;
using Stefna.Sdk;
using Stefna.Sdk.Testing;

namespace Contoso.Sample.Tests;

/// <summary>The SDK's conformance kit for a choice type: validation, storage, precedence, fallback, every choice's
/// prompt, and a real job end to end on the embedded default (SQLite + local files + offline provider).</summary>
public sealed class SampleTypeConformanceTests : ChoiceGeneratorConformanceTests
{
    protected override void AddGenerationType(IStefnaBuilder stefna) => stefna.AddSampleType();
}
