using Stefna.Sdk.Testing.Fakes;

namespace Stefna.Samples.Console.Tests;

/// <summary><c>--provider openai</c> against the kit's loopback OpenAI Images API. OPENAI_API_KEY is process-wide, so
/// every test here sets the same value and the class runs its tests one after another.</summary>
public sealed class OpenAICliTests
{
    private const string Key = "sk-cli-test-3f9a";

    public OpenAICliTests() => Environment.SetEnvironmentVariable("OPENAI_API_KEY", Key);

    [Fact]
    public async Task Custom_prompt_completes_through_openai_generations()
    {
        await using var openai = await OpenAIImagesEmulator.StartAsync(Key);
        using var cli = new Cli();

        var job = await cli.JsonAsync("generate", "custom-prompt", "--prompt", "a lantern-lit harbour at night",
            "--provider", "openai", "--provider-base", openai.BaseUrl.AbsoluteUri, "--allow-private-urls");

        Assert.Equal("completed", job.GetProperty("status").GetString());
        var received = Assert.Single(openai.Requests);
        Assert.Empty(openai.SchemaErrors);
        Assert.Equal("/v1/images/generations", received.Path);
        Assert.Equal("gpt-image-1", received.Fields["model"]);
        Assert.Contains("a lantern-lit harbour at night", received.Fields["prompt"], StringComparison.Ordinal);
        var stored = Assert.Single(cli.ImageFiles(), f => f.Contains("results", StringComparison.Ordinal));
        Assert.Equal(openai.Image, await File.ReadAllBytesAsync(stored));
    }

    [Fact]
    public async Task Neo_glitch_sends_the_portrait_as_an_edit_with_the_chosen_model()
    {
        await using var openai = await OpenAIImagesEmulator.StartAsync(Key);
        using var cli = new Cli();

        var job = await cli.JsonAsync("generate", "neo-glitch", "--image", Cli.Portrait,
            "--provider", "openai", "--provider-base", openai.BaseUrl.AbsoluteUri, "--model", "gpt-image-1-mini", "--allow-private-urls");

        Assert.Equal("completed", job.GetProperty("status").GetString());
        var received = Assert.Single(openai.Requests);
        Assert.Empty(openai.SchemaErrors);
        Assert.Equal("/v1/images/edits", received.Path);
        Assert.Equal("gpt-image-1-mini", received.Fields["model"]);
        Assert.Equal(await File.ReadAllBytesAsync(Cli.Portrait), Assert.Single(received.Images).Bytes);
    }

    [Fact]
    public async Task A_loopback_endpoint_without_allow_private_urls_is_refused_before_any_request()
    {
        await using var openai = await OpenAIImagesEmulator.StartAsync(Key);
        using var cli = new Cli();

        var result = await cli.RunAsync("generate", "custom-prompt", "--prompt", "x", "--provider", "openai", "--provider-base", openai.BaseUrl.AbsoluteUri);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("--allow-private-urls", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(openai.Requests);
    }

    [Fact]
    public async Task Allow_private_urls_also_lets_a_loopback_image_url_through()
    {
        await using var openai = await OpenAIImagesEmulator.StartAsync(Key);
        openai.Image = Stefna.Sdk.Testing.SampleImages.Png(256, 256, seed: 2);
        using var cli = new Cli();
        var image = new Uri(openai.BaseUrl, "/files/portrait.png").AbsoluteUri; // the emulator serves its PNG there

        var refused = await cli.RunAsync("generate", "neo-glitch", "--image", image);
        var job = await cli.JsonAsync("generate", "neo-glitch", "--image", image, "--allow-private-urls");

        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("loopback, private or link-local", refused.Stderr, StringComparison.Ordinal);
        Assert.Equal("completed", job.GetProperty("status").GetString());
        Assert.Equal(1, openai.ImageDownloads);
    }
}
