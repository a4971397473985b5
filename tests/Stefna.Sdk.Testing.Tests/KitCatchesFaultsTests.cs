using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Providers;
using Xunit.Sdk;

namespace Stefna.Sdk.Testing.Tests;

/// <summary>The kit is only useful if it fails faulty generators: each fact here runs one conformance fact against a
/// generator with one deliberate fault and expects the fact to fail.</summary>
public sealed class KitCatchesFaultsTests
{
    [Fact]
    public async Task A_provider_request_that_changes_between_calls_fails_the_determinism_fact()
    {
        await ExpectFailureAsync(Fault.RandomSeed, s => s.CreateProviderRequest_is_deterministic_for_the_same_job());
    }

    [Fact]
    public async Task A_refusal_that_is_not_a_GenerationValidationException_fails_the_invalid_request_fact()
    {
        await ExpectFailureAsync(Fault.ArgumentException, s => s.Invalid_requests_are_refused_with_a_typed_error_naming_field_and_code());
    }

    [Fact]
    public async Task A_refusal_naming_another_field_fails_the_invalid_request_fact()
    {
        await ExpectFailureAsync(Fault.WrongField, s => s.Invalid_requests_are_refused_with_a_typed_error_naming_field_and_code());
    }

    [Fact]
    public async Task A_definition_without_a_description_fails_the_definition_fact()
    {
        await ExpectFailureAsync(Fault.NoDescription, s => s.Definition_is_well_formed());
    }

    [Fact]
    public async Task A_spec_without_the_type_tag_fails_the_tags_fact()
    {
        await ExpectFailureAsync(Fault.NoTypeTag, s => s.Valid_request_prepares_a_spec_with_the_type_tags());
    }

    [Fact]
    public async Task The_same_generator_without_faults_passes_those_facts()
    {
        var suite = new FaultySuite(Fault.None);
        await suite.InitializeAsync();
        try
        {
            await suite.CreateProviderRequest_is_deterministic_for_the_same_job();
            await suite.Invalid_requests_are_refused_with_a_typed_error_naming_field_and_code();
            await suite.Definition_is_well_formed();
            await suite.Valid_request_prepares_a_spec_with_the_type_tags();
        }
        finally
        {
            await suite.DisposeAsync();
        }
    }

    private static async Task ExpectFailureAsync(Fault fault, Func<FaultySuite, Task> fact)
    {
        var suite = new FaultySuite(fault);
        await suite.InitializeAsync();
        try
        {
            await Assert.ThrowsAnyAsync<XunitException>(() => fact(suite));
        }
        finally
        {
            await suite.DisposeAsync();
        }
    }

    internal enum Fault
    {
        None,
        RandomSeed,
        ArgumentException,
        WrongField,
        NoDescription,
        NoTypeTag,
    }

    // Private, so xunit does not discover it as a test class of its own.
    private sealed class FaultySuite(Fault fault) : GeneratorConformanceTests
    {
        protected override void AddGenerationType(IStefnaBuilder stefna)
        {
            stefna.Services.AddSingleton(new FaultHolder(fault));
            stefna.AddGenerator<FaultyGenerator>(FaultyGenerator.TypeName);
        }

        protected override GenerationRequest CreateValidRequest() => Requests.For(FaultyGenerator.TypeName, preset: "ok");

        protected override IEnumerable<InvalidRequestCase> CreateInvalidRequests() =>
            [new("bad preset", Requests.For(FaultyGenerator.TypeName, preset: "bad"), "preset", "unknown_preset")];
    }

    private sealed record FaultHolder(Fault Fault);

    private sealed class FaultyGenerator(IOptions<StefnaOptions> options, FaultHolder holder)
        : GeneratorBase(holder.Fault == Fault.NoDescription ? Bare : Described, options)
    {
        public const string TypeName = "faulty-kit-check";

        private static readonly GenerationTypeDefinition Described = new(TypeName, "faulty_kit_check_media", "Faulty") { Description = "Checks the kit." };
        private static readonly GenerationTypeDefinition Bare = new(TypeName, "faulty_kit_check_media", "Faulty");

        protected override IEnumerable<string> TypeTags => holder.Fault == Fault.NoTypeTag ? [] : [TypeName];

        protected override ValueTask<GenerationSpec> PrepareCoreAsync(GenerationRequest request, string? prompt, CancellationToken cancellationToken)
        {
            if (request.Preset == "bad")
            {
                throw holder.Fault switch
                {
                    Fault.ArgumentException => new ArgumentException("bad preset"),
                    Fault.WrongField => new GenerationValidationException("style", "Unknown preset.", "unknown_preset"),
                    _ => new GenerationValidationException("preset", "Unknown preset.", "unknown_preset"),
                };
            }

            return ValueTask.FromResult(new GenerationSpec { Prompt = prompt, Preset = request.Preset });
        }

        public override ProviderRequest CreateProviderRequest(GenerationJob job, ImageContent? sourceImage) => new()
        {
            JobId = job.Id,
            Type = job.Type,
            Prompt = "a faulty picture",
            SourceImage = sourceImage,
            Seed = holder.Fault == Fault.RandomSeed ? Random.Shared.NextInt64() : SeedFor(job.Id),
        };
    }
}
