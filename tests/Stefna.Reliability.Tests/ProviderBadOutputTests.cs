using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Stefna.Sdk;
using Stefna.Sdk.Testing.Fakes;
using Stefna.TestUtils;

namespace Stefna.Reliability.Tests;

/// <summary>
/// Bad input from the provider side: the real AIML API provider against the loopback emulator answering malformed
/// JSON or bytes that are not an image. Each job fails once with a typed provider error and a clear message, is not
/// retried, and leaves no file and no completed (partial) row behind.
/// </summary>
public sealed class ProviderBadOutputTests
{
    private const string Key = "aiml-bad-output-key-81d3";

    private static readonly byte[] Html = "<html><body>502 Bad Gateway</body></html>"u8.ToArray();

    /// <summary>How the emulator is told to misbehave.</summary>
    private sealed record BadOutput(Action<AimlApiEmulator> Script, string Code);

    private static readonly Dictionary<string, BadOutput> Cases = new()
    {
        ["malformed provider JSON (truncated)"] = new(e => e.Enqueue(new AimlScriptedReply(200, """{"data":[{"url":"http://127.0.0.1:9/x.png" """)), "provider_error.malformed_response"),
        ["provider HTML page answered as 200 JSON"] = new(e => e.Enqueue(new AimlScriptedReply(200, Encoding.UTF8.GetString(Html))), "provider_error.malformed_response"),
        ["provider JSON that is not an object"] = new(e => e.Enqueue(new AimlScriptedReply(200, """[{"url":"http://127.0.0.1:9/x.png"}]""")), "provider_error.malformed_response"),
        ["provider answering non-image bytes inline (b64_json)"] = new(e => { e.Format = AimlImageFormat.DataB64Json; e.Image = Html; }, "provider_error.not_an_image"),
        ["provider answering non-image bytes at its image URL"] = new(e => { e.Format = AimlImageFormat.DataUrl; e.Image = "%PDF-1.7\n1 0 obj"u8.ToArray(); }, "provider_error.not_an_image"),
        ["provider answering a truncated PNG declared image/png"] = new(e => { e.Format = AimlImageFormat.ImagesArray; e.Image = TestImages.TruncatedPng(); }, "provider_error.not_an_image"),
    };

    public static TheoryData<string> ProviderCases => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(ProviderCases))]
    public async Task Bad_output_from_the_provider_fails_the_job_once_with_a_typed_error_and_leaves_nothing_behind(string name)
    {
        var c = Cases[name];
        await using var emulator = await AimlApiEmulator.StartAsync(Key);
        c.Script(emulator);
        await using var host = SdkHost.Start(
            b => b.UseAimlApi(o =>
            {
                o.ApiKey = Key;
                o.BaseUrl = emulator.BaseUrl;
                o.MaxRetryAttempts = 3;
                o.RetryDelay = TimeSpan.FromMilliseconds(20);
            }),
            o => o.MaxAttempts = 3);

        var job = await host.RunAsync(new GenerationRequest { Type = "custom-prompt", UserId = "user-bad-provider", Prompt = "a lighthouse at dusk" }, TimeSpan.FromSeconds(30));

        Assert.Equal(GenerationStatus.Failed, job.Status);
        Assert.NotNull(job.Error);
        Assert.Equal(GenerationErrorCategory.ProviderError, job.Error.Category);
        Assert.Equal(c.Code, job.Error.Code);
        Assert.False(string.IsNullOrWhiteSpace(job.Error.Message));
        Assert.True(job.Error.Message.Length < 1000, $"message too long for a person: {job.Error.Message}");
        Assert.DoesNotContain('\n', job.Error.Message);
        Assert.Equal(1, job.Attempts);                          // not retried: the same answer would come back
        Assert.Single(emulator.Requests);                       // nor retried inside the provider's resilience pipeline
        Assert.Null(job.ImageUrl);
        Assert.Equal(1, await host.CountRowsAsync());           // the job's own row, failed…
        Assert.Equal(0, await host.CountRowsAsync(GenerationStatus.Completed)); // …never completed with a partial result
        Assert.Empty(host.StoredFiles());                       // no stray file
        Figures.Record("bad input (provider): " + name, new Dictionary<string, object> { ["bad_inputs_tried"] = 1, ["jobs_run"] = 1, ["code"] = job.Error.Code, ["files_left"] = 0 });
    }
}
