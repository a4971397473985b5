using Stefna.Sdk.Testing.Fakes;
using Stefna.TestUtils;

namespace Stefna.Samples.Console.Tests;

public class CloudinaryCliTests
{
    [Fact]
    public async Task Generate_with_cloudinary_stores_the_emulators_secure_url_as_imageUrl()
    {
        await using var cloudinary = await CloudinaryEmulator.StartAsync("demo", "key", "secret");
        using var cli = new Cli();

        var job = await cli.JsonAsync("generate", "neo-glitch", "--image", Cli.Portrait,
            "--cloudinary", "cloudinary://key:secret@demo", "--cloudinary-api-base", cloudinary.BaseUrl);

        Assert.Equal("completed", job.GetProperty("status").GetString());
        var imageUrl = job.GetProperty("imageUrl").GetString()!;
        Assert.StartsWith(cloudinary.BaseUrl, imageUrl, StringComparison.Ordinal);

        // The server checked every signature; both the source and the result were uploaded, into the type's folder.
        var uploads = cloudinary.Requests.Where(r => r.Operation == "upload").ToList();
        Assert.Equal(2, uploads.Count);
        Assert.All(uploads, u => Assert.True(u.SignatureValid && u.StatusCode == 200));
        var result = Assert.Single(cloudinary.Assets.Values, a => a.PublicId.Contains("/neo-glitch/results/", StringComparison.Ordinal));
        Assert.Contains(result.PublicId, imageUrl, StringComparison.Ordinal);

        // The type's table holds the secure_url, and nothing was written to local image files.
        Assert.Equal(("completed", imageUrl), cli.ReadRow("neo_glitch_media", job.GetProperty("id").GetString()!));
        Assert.Empty(cli.ImageFiles());
    }

    [Fact]
    public async Task A_wrong_secret_fails_with_one_line_and_leaves_no_row()
    {
        await using var cloudinary = await CloudinaryEmulator.StartAsync("demo", "key", "secret");
        using var cli = new Cli();

        var result = await cli.RunAsync("generate", "neo-glitch", "--image", Cli.Portrait,
            "--cloudinary", "cloudinary://key:WRONG@demo", "--cloudinary-api-base", cloudinary.BaseUrl);

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("Invalid Signature", line, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("WRONG", line, StringComparison.Ordinal);
        Assert.Equal(0, cli.CountRows("neo_glitch_media"));
    }
}
