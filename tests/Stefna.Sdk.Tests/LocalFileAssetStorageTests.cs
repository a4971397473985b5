using Microsoft.Extensions.Options;
using Stefna.Sdk;
using Stefna.Sdk.Assets;
using Stefna.Sdk.Imaging;
using Stefna.TestUtils;

namespace Stefna.Sdk.Tests;

public class LocalFileAssetStorageTests
{
    private static LocalFileAssetStorage Storage(string root, string? baseUrl = null) =>
        new(Options.Create(new LocalFileAssetStorageOptions { RootPath = root, PublicBaseUrl = baseUrl }));

    private static AssetWriteRequest Write(string type = "neo-glitch", Guid? id = null) => new()
    {
        Content = TestImages.Png(),
        Info = ImageInspector.Inspect(TestImages.Png()),
        Kind = AssetKind.Result,
        Type = type,
        JobId = id ?? Guid.NewGuid(),
        UserId = "u1",
    };

    [Fact]
    public async Task Saves_reads_and_deletes_under_the_root()
    {
        using var dir = new TempDirectory();
        var storage = Storage(dir.Path);
        var id = Guid.NewGuid();
        var asset = await storage.SaveAsync(Write(id: id), CancellationToken.None);
        Assert.StartsWith("file://", asset.Url, StringComparison.Ordinal);
        Assert.Equal($"results/neo-glitch/{id:N}.png", asset.AssetId);
        Assert.Equal(TestImages.Png(), (await storage.ReadAsync(asset.Url, CancellationToken.None)).ToArray());
        Assert.Single(dir.AllFiles());
        await storage.DeleteAsync(asset.Url, CancellationToken.None);
        Assert.Empty(dir.AllFiles());
    }

    [Fact]
    public async Task A_result_is_named_by_job_and_attempt_so_another_attempt_never_touches_it()
    {
        using var dir = new TempDirectory();
        var storage = Storage(dir.Path);
        var id = Guid.NewGuid();
        var winner = await storage.SaveAsync(Write(id: id) with { Attempt = 2 }, CancellationToken.None);
        var loser = await storage.SaveAsync(Write(id: id) with { Attempt = 1, Content = TestImages.Png(seed: 9) }, CancellationToken.None);
        Assert.Equal($"results/neo-glitch/{id:N}-2.png", winner.AssetId);
        Assert.Equal($"results/neo-glitch/{id:N}-1.png", loser.AssetId);

        await storage.DeleteAsync(loser.Url, CancellationToken.None);

        Assert.Equal(TestImages.Png(), (await storage.ReadAsync(winner.Url, CancellationToken.None)).ToArray());
        Assert.Single(dir.AllFiles());
    }

    [Fact]
    public async Task Uses_the_public_base_url_when_configured()
    {
        using var dir = new TempDirectory();
        var storage = Storage(dir.Path, "/media");
        var asset = await storage.SaveAsync(Write(), CancellationToken.None);
        Assert.StartsWith("/media/results/neo-glitch/", asset.Url, StringComparison.Ordinal);
        Assert.True(File.Exists(storage.GetPath(asset.Url)));
    }

    [Theory]
    [InlineData("file:///etc/passwd")]
    [InlineData("/media/../../etc/passwd")]
    [InlineData("/media/results/../../../etc/passwd")]
    [InlineData("https://elsewhere.test/x.png")]
    public async Task Cannot_be_steered_outside_its_root(string url)
    {
        using var dir = new TempDirectory();
        var storage = Storage(dir.Path, "/media");
        var ex = await Assert.ThrowsAsync<GenerationException>(async () => await storage.ReadAsync(url, CancellationToken.None));
        Assert.Equal(GenerationErrorCategory.StorageFailure, ex.Category);
        await Assert.ThrowsAsync<GenerationException>(async () => await storage.DeleteAsync(url, CancellationToken.None));
    }

    [Fact]
    public async Task Refuses_a_type_name_that_is_not_a_safe_path_segment()
    {
        using var dir = new TempDirectory();
        await Assert.ThrowsAsync<ArgumentException>(async () => await Storage(dir.Path).SaveAsync(Write(type: "../evil"), CancellationToken.None));
        Assert.Empty(dir.AllFiles());
    }

    /// <summary>Issue 16: the results of attempts that lost (killed or cut off before completing) are deleted by name
    /// once the job has ended, with the temp files a cut-off write left; other attempts and other jobs are untouched.</summary>
    [Fact]
    public async Task DeleteAttemptResultsAsync_deletes_the_results_and_temp_files_of_the_attempts_named_and_nothing_else()
    {
        using var dir = new TempDirectory();
        var storage = Storage(dir.Path);
        var id = Guid.NewGuid();
        var other = Guid.NewGuid();
        var first = await storage.SaveAsync(Write(id: id) with { Attempt = 1 }, CancellationToken.None);
        var second = await storage.SaveAsync(Write(id: id) with { Attempt = 2 }, CancellationToken.None);
        var third = await storage.SaveAsync(Write(id: id) with { Attempt = 3 }, CancellationToken.None);
        var neighbour = await storage.SaveAsync(Write(id: other) with { Attempt = 1 }, CancellationToken.None);
        var temp = storage.GetPath(second.Url) + "." + Guid.NewGuid().ToString("N") + ".tmp";
        await File.WriteAllTextAsync(temp, "half an image");

        await storage.DeleteAttemptResultsAsync("neo-glitch", id, throughAttempt: 2, CancellationToken.None);
        await storage.DeleteAttemptResultsAsync("emotion-mask", id, throughAttempt: 9, CancellationToken.None); // no folder: nothing to do

        Assert.False(File.Exists(storage.GetPath(first.Url)));
        Assert.False(File.Exists(storage.GetPath(second.Url)));
        Assert.False(File.Exists(temp));
        Assert.True(File.Exists(storage.GetPath(third.Url)));
        Assert.True(File.Exists(storage.GetPath(neighbour.Url)));
    }
}
