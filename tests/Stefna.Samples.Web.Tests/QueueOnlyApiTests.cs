using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using static Stefna.Samples.Web.Tests.ApiHelpers;

namespace Stefna.Samples.Web.Tests;

/// <summary>Against a host whose worker is off (jobs stay queued) and whose image limit is small.</summary>
public sealed class QueueOnlyApiTests(QueueOnlyWebAppFixture fixture) : IClassFixture<QueueOnlyWebAppFixture>
{
    private readonly WebAppFixture _app = fixture.App;

    [Fact]
    public async Task Delete_cancels_a_queued_job_and_answers_200_with_the_job()
    {
        using var alice = _app.Client();
        var (location, body) = await SubmitAcceptedAsync(alice, "neo-glitch", Portrait());
        Assert.Equal("queued", body.Str("status"));

        using var cancel = await alice.DeleteAsync(location.TrimStart('/'));
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        var canceled = await cancel.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("canceled", canceled.Str("status"));
        Assert.Equal(body.GetProperty("id").GetGuid(), canceled.GetProperty("id").GetGuid());

        var read = await alice.GetFromJsonAsync<JsonElement>(location.TrimStart('/'));
        Assert.Equal("canceled", read.Str("status"));

        var feed = await alice.GetFromJsonAsync<JsonElement>("api/feed?status=canceled");
        Assert.Contains(body.GetProperty("id").GetGuid(), feed.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetGuid()));
    }

    [Fact]
    public async Task Another_user_cannot_cancel_a_queued_job()
    {
        using var alice = _app.Client("dev-key-alice");
        using var bob = _app.Client("dev-key-bob");
        var (location, _) = await SubmitAcceptedAsync(alice, "neo-glitch", Portrait());
        using var cancel = await bob.DeleteAsync(location.TrimStart('/'));
        await ProblemAsync(cancel, HttpStatusCode.NotFound);
        var read = await alice.GetFromJsonAsync<JsonElement>(location.TrimStart('/'));
        Assert.Equal("queued", read.Str("status"));
    }

    [Fact]
    public async Task A_body_larger_than_the_image_limit_plus_form_overhead_is_413()
    {
        using var alice = _app.Client();
        var tooLarge = new byte[QueueOnlyWebAppFixture.MaxImageBytes + (128 * 1024)];
        Portrait().CopyTo(tooLarge, 0);
        using var response = await SubmitAsync(alice, "neo-glitch", tooLarge);
        Assert.Equal("request_too_large", (await ProblemAsync(response, HttpStatusCode.RequestEntityTooLarge)).Str("code"));
    }

    [Fact]
    public async Task An_image_just_over_the_limit_within_the_overhead_is_refused_by_the_sdk_as_400()
    {
        using var alice = _app.Client();
        var overLimit = new byte[QueueOnlyWebAppFixture.MaxImageBytes + 1];
        Portrait().CopyTo(overLimit, 0);
        using var response = await SubmitAsync(alice, "neo-glitch", overLimit);
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request.image_too_large", problem.Str("code"));
    }
}
