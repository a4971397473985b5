using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Stefna.TestUtils;
using static Stefna.Samples.Web.Tests.ApiHelpers;

namespace Stefna.Samples.Web.Tests;

/// <summary><c>/media/</c> reads are scoped to their owner (a signed, expiring URL from the API, or the owner's API key),
/// and a source photo is served without the EXIF GPS position it was uploaded with.</summary>
public sealed class MediaAccessTests(WebAppFixture app) : IClassFixture<WebAppFixture>
{
    [Fact]
    public async Task Only_the_owner_reads_a_source_photo_and_it_has_no_exif_gps()
    {
        var photo = MetadataImages.JpegWithMetadata();
        using var alice = app.Client();
        var (location, _) = await SubmitAcceptedAsync(alice, "neo-glitch", photo);
        var job = await WaitUntilFinishedAsync(alice, location);
        Assert.Equal("completed", job.Str("status"));
        var source = job.Str("sourceImageUrl")!;
        var result = job.Str("imageUrl")!;
        Assert.StartsWith("/media/sources/neo-glitch/", source, StringComparison.Ordinal);
        Assert.Contains("?token=", source, StringComparison.Ordinal);
        var sourcePath = source[..source.IndexOf('?', StringComparison.Ordinal)];
        var resultPath = result[..result.IndexOf('?', StringComparison.Ordinal)];

        // The signed URL works without any header (what an <img> sends), and the photo has no EXIF GPS, serial or XMP.
        using var anonymous = app.Client(apiKey: null);
        using (var signed = await anonymous.GetAsync(source.TrimStart('/')))
        {
            Assert.Equal(HttpStatusCode.OK, signed.StatusCode);
            Assert.Equal("image/jpeg", signed.Content.Headers.ContentType?.MediaType);
            var served = await signed.Content.ReadAsByteArrayAsync();
            Assert.False(MetadataImages.HasPrivateMetadata(served));
            Assert.Equal(0xFF, served[0]);
        }

        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(result.TrimStart('/'))).StatusCode);

        // Without a token: anonymous and another user get 404; the owner's API key is enough.
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync(sourcePath.TrimStart('/'))).StatusCode);
        using var bob = app.Client("dev-key-bob");
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync(sourcePath.TrimStart('/'))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync(resultPath.TrimStart('/'))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync(sourcePath.TrimStart('/'))).StatusCode);

        // A token is bound to its path, cannot be altered, and expires.
        var resultToken = result[(result.IndexOf("?token=", StringComparison.Ordinal) + 7)..];
        Assert.Equal(HttpStatusCode.Forbidden, (await anonymous.GetAsync(sourcePath.TrimStart('/') + "?token=" + resultToken)).StatusCode);
        var token = source[(source.IndexOf("?token=", StringComparison.Ordinal) + 7)..];
        var forged = token[..^3] + (token[^3] == 'A' ? 'B' : 'A') + token[^2..];
        Assert.Equal(HttpStatusCode.Forbidden, (await anonymous.GetAsync(sourcePath.TrimStart('/') + "?token=" + forged)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await anonymous.GetAsync(sourcePath.TrimStart('/') + "?token=not-a-token")).StatusCode);
        var expired = app.Services.GetRequiredService<MediaAccess>().Sign(sourcePath, "alice", DateTimeOffset.UtcNow.AddMinutes(-1))!;
        Assert.Equal(HttpStatusCode.Forbidden, (await anonymous.GetAsync(expired.TrimStart('/'))).StatusCode);
        var fresh = app.Services.GetRequiredService<MediaAccess>().Sign(sourcePath, "alice", DateTimeOffset.UtcNow.AddMinutes(5))!;
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(fresh.TrimStart('/'))).StatusCode);
    }

    [Fact]
    public async Task The_feed_answers_urls_signed_for_the_user_who_asked()
    {
        using var alice = app.Client();
        var (location, _) = await SubmitAcceptedAsync(alice, "neo-glitch", Portrait());
        await WaitUntilFinishedAsync(alice, location);

        var feed = await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<System.Text.Json.JsonElement>(alice, "api/feed?type=neo-glitch&limit=1");
        var url = feed.GetProperty("items")[0].Str("imageUrl")!;
        Assert.Contains("?token=", url, StringComparison.Ordinal);
        using var anonymous = app.Client(apiKey: null);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(url.TrimStart('/'))).StatusCode);
    }
}
