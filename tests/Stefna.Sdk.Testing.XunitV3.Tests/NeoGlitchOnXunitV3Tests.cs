using Microsoft.Extensions.DependencyInjection;
using Stefna.Sdk;
using Stefna.Sdk.Testing;

namespace Stefna.Sdk.Testing.XunitV3.Tests;

/// <summary>The whole choice-type kit, run by xunit v3 against a built-in data-only type.</summary>
public sealed class NeoGlitchOnXunitV3Tests : ChoiceGeneratorConformanceTests
{
    protected override void AddGenerationType(IStefnaBuilder stefna) => stefna.AddNeoGlitch();

    /// <summary>The lifetime members are xunit v3's (ValueTask); an override calls the base to clean up.</summary>
    public override async ValueTask DisposeAsync() => await base.DisposeAsync();
}
