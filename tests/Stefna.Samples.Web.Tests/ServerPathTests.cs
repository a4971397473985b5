using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Stefna.Sdk;
using Stefna.Sdk.Assets;
using static Stefna.Samples.Web.Tests.ApiHelpers;

namespace Stefna.Samples.Web.Tests;

/// <summary>
/// Issue 16: a storage failure (a full or broken disk) put the data directory's path into the web API's 500 problem
/// detail and into the job's <c>error.message</c>. Neither the problem, the job nor the health report names a server path.
/// </summary>
public sealed class ServerPathTests
{
    [Fact]
    public async Task A_storage_failure_answers_500_and_fails_the_job_without_naming_a_server_path()
    {
        var app = new WebAppFixture();
        await app.InitializeAsync();
        try
        {
            // The folders the source photo and the result are written into are files: every write fails with an
            // IOException that names the file it failed on (as a full or read-only disk does).
            var images = Path.Combine(app.DataDirectory, "images");
            await File.WriteAllTextAsync(Path.Combine(images, "sources"), "not a folder");
            await File.WriteAllTextAsync(Path.Combine(images, "results"), "not a folder");
            using var client = app.Client();

            using var submit = await SubmitAsync(client, "neo-glitch", Portrait());
            var problem = await ProblemAsync(submit, HttpStatusCode.InternalServerError);
            var (location, _) = await SubmitAcceptedAsync(client, "custom-prompt", image: null, ("prompt", "a lighthouse at dusk"));
            var job = await WaitUntilFinishedAsync(client, location);
            using var health = await client.GetAsync("health");
            var healthText = await health.Content.ReadAsStringAsync();

            Assert.Equal("storage_failure", problem.Str("category"));
            AssertNoServerPath(app, problem.GetRawText());
            Assert.Equal("failed", job.Str("status"));
            Assert.Equal("storage_failure", job.GetProperty("error").Str("category"));
            AssertNoServerPath(app, job.GetRawText());
            AssertNoServerPath(app, healthText);
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    /// <summary>A plug-in's asset storage (not the SDK's) whose exception message names the file it failed on: the web
    /// API's problem detail is the last stop before the client, and it redacts the path (before: shown verbatim).</summary>
    [Fact]
    public async Task A_plug_in_storage_error_naming_a_path_reaches_the_client_redacted()
    {
        WebAppFixture? self = null;
        var app = self = new WebAppFixture
        {
            Configure = b =>
            {
                b.Services.RemoveAll<IAssetStorage>();
                b.Services.AddSingleton<IAssetStorage>(sp => new FullDiskStorage(() => Path.Combine(self!.DataDirectory, "plug-in", "sources", "photo.png")));
            },
        };
        await app.InitializeAsync();
        try
        {
            using var client = app.Client();
            using var submit = await SubmitAsync(client, "neo-glitch", Portrait());
            var problem = await ProblemAsync(submit, HttpStatusCode.InternalServerError);

            Assert.Equal("storage_failure", problem.Str("category"));
            Assert.True(problem.Str("detail")?.Contains("No space left on device", StringComparison.Ordinal) == true, problem.GetRawText());
            Assert.True(problem.Str("detail")?.Contains(ServerPaths.Placeholder, StringComparison.Ordinal) == true, problem.GetRawText());
            AssertNoServerPath(app, problem.GetRawText());
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    private static void AssertNoServerPath(WebAppFixture app, string text)
    {
        // JSON escapes '/' only optionally; compare the decoded text as well as the raw one.
        var decoded = JsonSerializer.Deserialize<JsonElement>(text).ToString();
        foreach (var candidate in new[] { text, decoded })
        {
            Assert.DoesNotContain(app.DataDirectory, candidate, StringComparison.Ordinal);
            Assert.DoesNotContain(Path.GetTempPath().TrimEnd('/'), candidate, StringComparison.Ordinal);
            Assert.DoesNotContain(WebAppFixture.RepositoryRoot, candidate, StringComparison.Ordinal);
        }
    }

    /// <summary>Fails every write the way a plug-in that wraps <see cref="IOException.Message"/> would.</summary>
    private sealed class FullDiskStorage(Func<string> path) : IAssetStorage
    {
        public ValueTask<StoredAsset> SaveAsync(AssetWriteRequest request, CancellationToken cancellationToken) =>
            throw new GenerationException(GenerationErrorCategory.StorageFailure, $"Could not save: No space left on device : '{path()}'");

        public ValueTask<ReadOnlyMemory<byte>> ReadAsync(string url, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask DeleteAsync(string url, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
