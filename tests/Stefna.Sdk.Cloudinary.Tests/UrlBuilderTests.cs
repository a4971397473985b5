using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Stefna.Sdk.Cloudinary.Tests;

public partial class UrlBuilderTests
{
    private static CloudinaryUrlBuilder Builder() => new(CloudinaryOptions.Parse("cloudinary://k:abcd@demo"));

    [Fact]
    public void Adds_f_auto_q_auto_by_default()
    {
        Assert.Equal("https://res.cloudinary.com/demo/image/upload/f_auto,q_auto/sample.jpg", Builder().Build("sample", "jpg"));
    }

    [Fact]
    public void Auto_format_and_quality_can_be_turned_off()
    {
        Assert.Equal("https://res.cloudinary.com/demo/image/upload/q_auto/sample", Builder().AutoFormat(false).Build("sample"));
        Assert.Equal("https://res.cloudinary.com/demo/image/upload/sample.png", Builder().AutoFormat(false).AutoQuality(false).Build("sample", "png"));
    }

    [Fact]
    public void Resizes_with_crop_width_height_and_a_version()
    {
        var url = Builder().Transform(t => t.Crop("fill").Width(300).Height(200)).Version(1712345678).Build("stefna/neo-glitch/results/abc", "png");
        Assert.Equal("https://res.cloudinary.com/demo/image/upload/c_fill,h_200,w_300/f_auto,q_auto/v1712345678/stefna/neo-glitch/results/abc.png", url);
    }

    [Fact]
    public void Chains_steps_with_slashes_in_order()
    {
        var url = Builder()
            .Resize(400, 300)
            .Transform(t => t.Effect("sepia").Radius("20"))
            .Transform(t => t.Add("ar", "16:9").Gravity("face"))
            .AutoQuality(false)
            .Build("sample");
        Assert.Equal("https://res.cloudinary.com/demo/image/upload/c_fill,h_300,w_400/e_sepia,r_20/ar_16:9,g_face/f_auto/sample", url);
    }

    [Fact]
    public void Rejects_components_that_would_break_the_path()
    {
        Assert.Throws<ArgumentException>(() => Builder().Transform(t => t.Effect("a/b")));
        Assert.Throws<ArgumentOutOfRangeException>(() => Builder().Transform(t => t.Width(0)));
    }

    [Fact]
    public void Signed_url_carries_the_first_8_chars_of_the_urlsafe_sha1_of_path_and_secret()
    {
        var url = Builder().Resize(300, 200).Version(42).Signed().Build("folder/sample", "png");

        // Independent computation: SHA-1 of "{transformations}/{public_id}.{format}" + secret, version excluded.
        var digest = SHA1.HashData(Encoding.UTF8.GetBytes("c_fill,h_200,w_300/f_auto,q_auto/folder/sample.png" + "abcd"));
        var expected = Convert.ToBase64String(digest)[..8].Replace('+', '-').Replace('/', '_');
        Assert.Equal($"https://res.cloudinary.com/demo/image/upload/s--{expected}--/c_fill,h_200,w_300/f_auto,q_auto/v42/folder/sample.png", url);
        Assert.Matches(SignedPattern(), url);

        // The signature depends on the transformation: a tampered URL cannot reuse it.
        var other = Builder().Resize(3000, 2000).Version(42).Signed().Build("folder/sample", "png");
        Assert.NotEqual(SignedPattern().Match(url).Groups[1].Value, SignedPattern().Match(other).Groups[1].Value);
    }

    [Fact]
    public void Signed_url_needs_the_secret()
    {
        Assert.Throws<InvalidOperationException>(() => new CloudinaryUrlBuilder("demo").Signed());
    }

    [Fact]
    public void Delivery_urls_map_back_to_their_public_id()
    {
        var signed = Builder().Resize(300, 200).Version(42).Signed().Build("stefna/neo-glitch/results/abc_result", "png");
        Assert.True(CloudinaryAssetStorage.TryGetPublicId(signed, "demo", out var id));
        Assert.Equal("stefna/neo-glitch/results/abc_result", id);
        Assert.True(CloudinaryAssetStorage.TryGetPublicId("https://res.cloudinary.com/demo/image/upload/c_fill,w_10/sample.jpg", "demo", out id));
        Assert.Equal("sample", id);
        Assert.False(CloudinaryAssetStorage.TryGetPublicId("https://res.cloudinary.com/other/image/upload/v1/sample.jpg", "demo", out _));
        Assert.False(CloudinaryAssetStorage.TryGetPublicId("https://example.com/demo/files/sample.jpg", "demo", out _));
    }

    [GeneratedRegex("/upload/s--([A-Za-z0-9_-]{8})--/")]
    private static partial Regex SignedPattern();
}
