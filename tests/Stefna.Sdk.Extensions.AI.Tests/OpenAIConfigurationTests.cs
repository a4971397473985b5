using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Providers;
using Stefna.Sdk.Testing.Fakes;

namespace Stefna.Sdk.Extensions.AI.Tests;

/// <summary><c>UseOpenAI()</c> bound from configuration like the AIML API provider: <c>Stefna:OpenAI</c>, validation
/// naming the key, the key never shown. Tests that read or write the process-wide OPENAI_API_KEY live in this class only,
/// so they never run in parallel.</summary>
public sealed class OpenAIConfigurationTests : IAsyncLifetime
{
    private const string Secret = "sk-openai-very-secret-0042";
    private OpenAIImagesEmulator _openai = null!;

    public async Task InitializeAsync() => _openai = await OpenAIImagesEmulator.StartAsync(Secret);

    public async Task DisposeAsync() => await _openai.DisposeAsync();

    private static IConfigurationSection Stefna(params (string Key, string? Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create("Stefna:" + v.Key, v.Value))).Build().GetSection("Stefna");

    private static OptionsValidationException ValidationFailure(IServiceProvider provider)
    {
        var error = Assert.ThrowsAny<Exception>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        var failures = error is AggregateException aggregate ? aggregate.Flatten().InnerExceptions : [error];
        return Assert.IsType<OptionsValidationException>(failures.First(f => f is OptionsValidationException { OptionsType.Name: nameof(OpenAIImageProviderOptions) }));
    }

    private static ProviderRequest Request() => new() { JobId = Guid.NewGuid(), Type = "custom-prompt", Prompt = "a paper boat on a puddle", Model = "flux/schnell" };

    [Fact]
    public async Task The_provider_binds_from_Stefna_OpenAI_in_configuration()
    {
        var services = new ServiceCollection();
        services.AddStefna(Stefna(
                ("OpenAI:ApiKey", Secret),
                ("OpenAI:Endpoint", _openai.BaseUrl.ToString()),
                ("OpenAI:Model", "gpt-image-1-mini"),
                ("OpenAI:ImageSize", "1024x1536"),
                ("OpenAI:MaxRetries", "0")))
            .UseOpenAI();
        await using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();

        var response = await provider.GetRequiredService<IImageProvider>().SubmitAsync(Request(), CancellationToken.None);

        var received = Assert.Single(_openai.Requests);
        Assert.Empty(_openai.SchemaErrors);
        Assert.Equal("Bearer " + Secret, received.Authorization);
        Assert.Equal("gpt-image-1-mini", received.Fields["model"]); // the request's AIML model is not sent to OpenAI
        Assert.Equal("1024x1536", received.Fields["size"]);
        var image = Assert.IsType<ProviderResponse.Completed>(response).Image;
        Assert.Equal("openai", image.Meta["provider"]);
        Assert.Equal(_openai.Image, image.Bytes!.Value.ToArray());
    }

    [Fact]
    public async Task A_per_type_provider_binds_from_its_types_section_and_the_default_stays_for_other_types()
    {
        await using var other = await OpenAIImagesEmulator.StartAsync("sk-other-key");
        var services = new ServiceCollection();
        services.AddStefna(Stefna(
                ("OpenAI:ApiKey", Secret),
                ("OpenAI:Endpoint", _openai.BaseUrl.ToString()),
                ("OpenAI:MaxRetries", "0"),
                ("Types:custom-prompt:OpenAI:ApiKey", "sk-other-key"),
                ("Types:custom-prompt:OpenAI:Endpoint", other.BaseUrl.ToString()),
                ("Types:custom-prompt:OpenAI:Model", "gpt-image-1.5"),
                ("Types:custom-prompt:OpenAI:MaxRetries", "0")))
            .UseOpenAI()
            .UseOpenAI("custom-prompt", null);
        await using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();

        await provider.GetRequiredService<IImageProvider>().SubmitAsync(Request(), CancellationToken.None);
        await provider.GetRequiredKeyedService<IImageProvider>("custom-prompt").SubmitAsync(Request(), CancellationToken.None);

        Assert.Equal("gpt-image-1", Assert.Single(_openai.Requests).Fields["model"]);
        Assert.Equal("gpt-image-1.5", Assert.Single(other.Requests).Fields["model"]);
        Assert.Equal("Bearer sk-other-key", other.Requests[0].Authorization);
    }

    [Fact]
    public void Invalid_options_fail_at_start_naming_their_configuration_keys()
    {
        var services = new ServiceCollection();
        services.AddStefna(Stefna(
                ("OpenAI:ApiKey", Secret),
                ("OpenAI:Endpoint", "ftp://example.org/v1"),
                ("OpenAI:Model", " "),
                ("OpenAI:ImageSize", "big"),
                ("OpenAI:MaxRetries", "11"),
                ("Types:custom-prompt:OpenAI:ApiKey", Secret),
                ("Types:custom-prompt:OpenAI:NetworkTimeout", "00:00:00")))
            .UseOpenAI()
            .UseOpenAI("custom-prompt", null);
        using var provider = services.BuildServiceProvider();

        var error = Assert.ThrowsAny<Exception>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        var message = string.Join("\n", (error is AggregateException a ? a.Flatten().InnerExceptions : [error]).Select(e => e.Message));

        Assert.Contains("Stefna:OpenAI:Endpoint must be an absolute http or https URL", message, StringComparison.Ordinal);
        Assert.Contains("Stefna:OpenAI:Model must be set", message, StringComparison.Ordinal);
        Assert.Contains("Stefna:OpenAI:ImageSize must be WIDTHxHEIGHT", message, StringComparison.Ordinal);
        Assert.Contains("Stefna:OpenAI:MaxRetries must be between 0 and 10", message, StringComparison.Ordinal);
        Assert.Contains("Stefna:Types:custom-prompt:OpenAI:NetworkTimeout must be at least 100 ms", message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_key_names_the_configuration_key_and_the_environment_variable()
    {
        var previous = Environment.GetEnvironmentVariable(OpenAIImageProviderOptions.ApiKeyEnvironmentVariable);
        Environment.SetEnvironmentVariable(OpenAIImageProviderOptions.ApiKeyEnvironmentVariable, null);
        try
        {
            var services = new ServiceCollection();
            services.AddStefna(Stefna(("OpenAI:Model", "gpt-image-1"))).UseOpenAI();
            using var provider = services.BuildServiceProvider();
            var error = ValidationFailure(provider);
            Assert.Contains("Stefna:OpenAI:ApiKey", error.Message, StringComparison.Ordinal);
            Assert.Contains("OPENAI_API_KEY", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(OpenAIImageProviderOptions.ApiKeyEnvironmentVariable, previous);
        }
    }

    [Fact]
    public async Task The_key_is_read_from_OPENAI_API_KEY_when_configuration_gives_none()
    {
        var previous = Environment.GetEnvironmentVariable(OpenAIImageProviderOptions.ApiKeyEnvironmentVariable);
        Environment.SetEnvironmentVariable(OpenAIImageProviderOptions.ApiKeyEnvironmentVariable, Secret);
        try
        {
            var services = new ServiceCollection();
            services.AddStefna(Stefna(("OpenAI:Endpoint", _openai.BaseUrl.ToString()), ("OpenAI:MaxRetries", "0"))).UseOpenAI();
            await using var provider = services.BuildServiceProvider();
            provider.GetRequiredService<IStartupValidator>().Validate();
            Assert.IsType<ProviderResponse.Completed>(await provider.GetRequiredService<IImageProvider>().SubmitAsync(Request(), CancellationToken.None));
            Assert.Equal("Bearer " + Secret, Assert.Single(_openai.Requests).Authorization);
        }
        finally
        {
            Environment.SetEnvironmentVariable(OpenAIImageProviderOptions.ApiKeyEnvironmentVariable, previous);
        }
    }

    [Fact]
    public void A_key_with_a_line_break_fails_at_start_without_repeating_it()
    {
        var services = new ServiceCollection();
        services.AddStefna(Stefna(("OpenAI:ApiKey", "sk-openai-secret-7\r\nX-Injected: 1"))).UseOpenAI();
        using var provider = services.BuildServiceProvider();
        var error = ValidationFailure(provider);
        Assert.Contains("HTTP header", error.Message, StringComparison.Ordinal);
        Assert.Contains("Stefna:OpenAI:ApiKey", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-7", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_to_string_never_shows_the_key()
    {
        var text = new OpenAIImageProviderOptions { ApiKey = Secret }.ToString();
        Assert.DoesNotContain(Secret, text, StringComparison.Ordinal);
        Assert.Contains("ApiKey = ***", text, StringComparison.Ordinal);
        Assert.Contains("api.openai.com", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_key_fails_the_job_without_the_key_in_the_error()
    {
        var services = new ServiceCollection();
        services.AddStefna(Stefna(("OpenAI:ApiKey", "sk-wrong-secret-99"), ("OpenAI:Endpoint", _openai.BaseUrl.ToString()), ("OpenAI:MaxRetries", "0"))).UseOpenAI();
        await using var provider = services.BuildServiceProvider();
        var error = await Assert.ThrowsAsync<GenerationException>(async () => await provider.GetRequiredService<IImageProvider>().SubmitAsync(Request(), CancellationToken.None));
        Assert.DoesNotContain("sk-wrong-secret-99", error.ToString(), StringComparison.Ordinal);
    }
}
