using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Http;
using Stefna.Sdk.Providers;
using Stefna.Sdk.Testing.Fakes;

namespace Stefna.Sdk.Providers.AimlApi.Tests;

/// <summary>Tests that read or write the process-wide AIMLAPI_KEY variable live here, in one class, so they never run in parallel.</summary>
public sealed class AimlApiConfigurationTests
{
    private static OptionsValidationException ValidationFailure(IServiceProvider provider)
    {
        // Start-up validation aggregates every failing options instance (ours and the resilience handler's).
        var error = Assert.ThrowsAny<Exception>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        var failures = error is AggregateException aggregate ? aggregate.Flatten().InnerExceptions : [error];
        return Assert.IsType<OptionsValidationException>(failures.First(f => f is OptionsValidationException { OptionsType.Name: nameof(AimlApiOptions) }));
    }

    [Fact]
    public void Options_to_string_never_shows_the_key()
    {
        var options = new AimlApiOptions { ApiKey = "sk-aiml-very-secret-0042" };
        var text = options.ToString();
        Assert.DoesNotContain("sk-aiml-very-secret-0042", text, StringComparison.Ordinal);
        Assert.Contains("ApiKey = ***", text, StringComparison.Ordinal);
        Assert.Contains("api.aimlapi.com", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Access_token_to_string_never_shows_the_value()
    {
        var token = new AccessToken("tok-abc-123-secret", DateTimeOffset.UnixEpoch.AddDays(1));
        Assert.DoesNotContain("tok-abc-123-secret", token.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("tok-abc-123-secret", AccessToken.NonExpiring("tok-abc-123-secret").ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("tok-abc-123-secret", new StaticAccessTokenSource("tok-abc-123-secret").ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_defaults_point_at_the_public_api()
    {
        var options = new AimlApiOptions();
        Assert.Equal(new Uri("https://api.aimlapi.com"), options.BaseUrl);
        Assert.Equal("AIMLAPI_KEY", AimlApiOptions.ApiKeyEnvironmentVariable);
    }

    [Fact]
    public void A_missing_key_fails_validation_at_start_naming_the_environment_variable()
    {
        var previous = Environment.GetEnvironmentVariable(AimlApiOptions.ApiKeyEnvironmentVariable);
        Environment.SetEnvironmentVariable(AimlApiOptions.ApiKeyEnvironmentVariable, null);
        try
        {
            var services = new ServiceCollection();
            services.AddStefna().UseAimlApi(o => o.BaseUrl = new Uri("http://127.0.0.1:9"));
            using var provider = services.BuildServiceProvider();
            var error = ValidationFailure(provider);
            Assert.Contains("AIMLAPI_KEY", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(AimlApiOptions.ApiKeyEnvironmentVariable, previous);
        }
    }

    /// <summary>Issue 16: a key with CR/LF inside was accepted at start, then every request failed and was retried three
    /// times as provider_unavailable. It is a configuration error at start, whose message does not repeat the key.</summary>
    [Theory]
    [InlineData("options", "sk-aiml-secret-7\r\nX-Injected: 1")]
    [InlineData("options", "sk-aiml-secret-7\nmore")]
    [InlineData("options", "sk-aiml secret-7")]
    [InlineData("environment", "sk-aiml-secret-7\r\nX-Injected: 1")]
    public void A_key_with_a_line_break_or_space_inside_fails_validation_at_start_without_repeating_it(string from, string key)
    {
        var previous = Environment.GetEnvironmentVariable(AimlApiOptions.ApiKeyEnvironmentVariable);
        Environment.SetEnvironmentVariable(AimlApiOptions.ApiKeyEnvironmentVariable, from == "environment" ? key : null);
        try
        {
            var services = new ServiceCollection();
            services.AddStefna().UseAimlApi(o =>
            {
                o.BaseUrl = new Uri("http://127.0.0.1:9");
                o.ApiKey = from == "options" ? key : null;
            });
            using var provider = services.BuildServiceProvider();

            var error = ValidationFailure(provider);

            Assert.Contains("HTTP header", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("secret-7", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(AimlApiOptions.ApiKeyEnvironmentVariable, previous);
        }
    }

    [Theory]
    [InlineData("ftp://example.org")]
    [InlineData("relative/path")]
    public void A_bad_base_url_fails_validation_at_start(string url)
    {
        var services = new ServiceCollection();
        services.AddStefna().UseAimlApi(o =>
        {
            o.ApiKey = "k";
            o.BaseUrl = new Uri(url, UriKind.RelativeOrAbsolute);
        });
        using var provider = services.BuildServiceProvider();
        var error = ValidationFailure(provider);
        Assert.Contains("BaseUrl", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Inconsistent_timeouts_and_retries_fail_validation_at_start()
    {
        var services = new ServiceCollection();
        services.AddStefna().UseAimlApi(o =>
        {
            o.ApiKey = "k";
            o.AttemptTimeout = TimeSpan.FromSeconds(10);
            o.TotalTimeout = TimeSpan.FromSeconds(5);
            o.MaxRetryAttempts = 0;
        });
        using var provider = services.BuildServiceProvider();
        var error = ValidationFailure(provider);
        Assert.Contains("TotalTimeout", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxRetryAttempts", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_key_is_read_from_AIMLAPI_KEY_when_options_give_none()
    {
        await using var emulator = await AimlApiEmulator.StartAsync("env-key-77aa");
        var previous = Environment.GetEnvironmentVariable(AimlApiOptions.ApiKeyEnvironmentVariable);
        Environment.SetEnvironmentVariable(AimlApiOptions.ApiKeyEnvironmentVariable, "env-key-77aa");
        try
        {
            var services = new ServiceCollection();
            services.AddStefna().UseAimlApi(o => o.BaseUrl = emulator.BaseUrl);
            await using var provider = services.BuildServiceProvider();
            provider.GetRequiredService<IStartupValidator>().Validate();
            var response = await provider.GetRequiredService<IImageProvider>().SubmitAsync(AimlHarness.TextRequest(), CancellationToken.None);
            Assert.IsType<ProviderResponse.Completed>(response);
            Assert.Equal("Bearer env-key-77aa", Assert.Single(emulator.Requests).Authorization);
        }
        finally
        {
            Environment.SetEnvironmentVariable(AimlApiOptions.ApiKeyEnvironmentVariable, previous);
        }
    }

    [Fact]
    public async Task A_per_type_provider_has_its_own_options_and_the_default_stays_for_other_types()
    {
        await using var shared = await AimlApiEmulator.StartAsync("shared-key");
        await using var own = await AimlApiEmulator.StartAsync("own-key");
        var services = new ServiceCollection();
        services.AddStefna()
            .UseAimlApi(o => { o.ApiKey = "shared-key"; o.BaseUrl = shared.BaseUrl; o.Model = "flux/schnell"; })
            .UseAimlApi("custom-prompt", o => { o.ApiKey = "own-key"; o.BaseUrl = own.BaseUrl; o.Model = "flux-pro"; });
        await using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();

        await provider.GetRequiredService<IImageProvider>().SubmitAsync(AimlHarness.TextRequest(), CancellationToken.None);
        await provider.GetRequiredKeyedService<IImageProvider>("custom-prompt").SubmitAsync(AimlHarness.TextRequest(), CancellationToken.None);

        Assert.Equal("flux/schnell", (string?)Assert.Single(shared.Requests).Json["model"]);
        Assert.Equal("flux-pro", (string?)Assert.Single(own.Requests).Json["model"]);
        Assert.Equal("Bearer own-key", own.Requests[0].Authorization);
    }
    [Fact]
    public void A_circuit_breaker_ratio_outside_zero_to_one_fails_validation_at_start()
    {
        foreach (var ratio in new[] { 0, -0.1, 1.5, double.NaN })
        {
            var services = new ServiceCollection();
            services.AddStefna().UseAimlApi(o =>
            {
                o.ApiKey = "k";
                o.CircuitBreakerFailureRatio = ratio;
            });
            using var provider = services.BuildServiceProvider();
            var error = ValidationFailure(provider);
            Assert.Contains("CircuitBreakerFailureRatio", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Thirty_percent_5xx_over_more_than_the_breakers_minimum_throughput_is_retried_not_cut_off_by_default()
    {
        // The standard resilience handler's own breaker opens at a 10 % failure ratio once it has seen 100 attempts;
        // the provider's default (0.5) must let a provider failing 30 % of attempts be retried to success.
        await using var emulator = await AimlApiEmulator.StartAsync("k");
        const int calls = 150;
        emulator.Enqueue([.. Enumerable.Range(0, calls * 2).Select(i => i % 10 is 0 or 3 or 6
            ? AimlScriptedReply.Error(503, "upstream overloaded", "server_error")
            : AimlScriptedReply.Success())]);
        var services = new ServiceCollection();
        services.AddStefna().UseAimlApi(o =>
        {
            o.ApiKey = "k";
            o.BaseUrl = emulator.BaseUrl;
            o.MaxRetryAttempts = 3;
            o.RetryDelay = TimeSpan.FromMilliseconds(1);
        });
        await using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
        var images = provider.GetRequiredService<IImageProvider>();

        for (var i = 0; i < calls; i++)
        {
            Assert.IsType<ProviderResponse.Completed>(await images.SubmitAsync(AimlHarness.TextRequest(), CancellationToken.None));
        }

        var failed = emulator.Requests.Count(r => r.Status >= 500);
        Assert.True(emulator.Requests.Count > 100, $"{emulator.Requests.Count} attempts: below the breaker's minimum throughput, nothing proven");
        Assert.InRange((double)failed / emulator.Requests.Count, 0.25, 0.35);
    }
}
