using System.Net;

namespace Stefna.Samples.Web.Tests;

/// <summary>Every answer (page, script, API with or without a key, errors, media) carries the security headers.</summary>
[Collection(WebAppCollection.Name)]
public sealed class SecurityHeaderTests(WebAppFixture app)
{
    [Theory]
    [InlineData("", "dev-key-alice", HttpStatusCode.OK)]
    [InlineData("app.js", null, HttpStatusCode.OK)]
    [InlineData("api/types", "dev-key-alice", HttpStatusCode.OK)]
    [InlineData("api/types", null, HttpStatusCode.Unauthorized)]
    [InlineData("api/generations/neo-glitch/00000000-0000-0000-0000-000000000001", "dev-key-alice", HttpStatusCode.NotFound)]
    [InlineData("media/results/none.png", null, HttpStatusCode.NotFound)]
    public async Task Every_answer_carries_csp_nosniff_and_frame_ancestors(string path, string? apiKey, HttpStatusCode expected)
    {
        using var client = app.Client(apiKey);
        using var response = await client.GetAsync(path);
        Assert.Equal(expected, response.StatusCode);
        var csp = Assert.Single(response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("default-src 'self'", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
    }
}
