using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Stefna.Generators.EmotionMask;
using Stefna.Generators.GhibliReaction;
using Stefna.Generators.NeoGlitch;
using Stefna.Generators.Presets;
using static Stefna.Samples.Web.Tests.ApiHelpers;

namespace Stefna.Samples.Web.Tests;

[Collection(WebAppCollection.Name)]
public sealed class GenerationApiTests(WebAppFixture app)
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    [Fact]
    public async Task Submit_answers_202_with_a_Location_and_the_job_completes_with_an_image_served_as_png()
    {
        using var alice = app.Client();
        var source = Portrait();
        var (location, body) = await SubmitAcceptedAsync(alice, "neo-glitch", source, ("preset", "visor"), ("tags", "one, two"), ("tags", "three"));

        var id = body.GetProperty("id").GetGuid();
        Assert.Equal($"/api/generations/neo-glitch/{id}", location);
        Assert.Equal("neo-glitch", body.Str("type"));
        Assert.Equal("queued", body.Str("status"));

        var job = await WaitUntilFinishedAsync(alice, location);
        Assert.Equal("completed", job.Str("status"));
        // Neo Glitch's style is a choice type's own column ("preset" is accepted as the choice when no "style" is given).
        Assert.Equal("visor", job.GetProperty("columns").GetProperty(NeoGlitchGenerator.Type.Column).GetString());
        var tags = job.GetProperty("tags").EnumerateArray().Select(t => t.GetString()).ToList();
        Assert.Contains("one", tags);
        Assert.Contains("two", tags);
        Assert.Contains("three", tags);
        Assert.Equal(JsonValueKind.Null, job.GetProperty("error").ValueKind);
        Assert.True(job.GetProperty("updatedAt").GetDateTimeOffset() >= job.GetProperty("createdAt").GetDateTimeOffset());

        var imageUrl = job.Str("imageUrl")!;
        Assert.StartsWith("/media/", imageUrl, StringComparison.Ordinal);
        using var anonymous = app.Client(apiKey: null);
        using var image = await anonymous.GetAsync(imageUrl.TrimStart('/'));
        Assert.Equal(HttpStatusCode.OK, image.StatusCode);
        Assert.Equal("image/png", image.Content.Headers.ContentType?.MediaType);
        var bytes = await image.Content.ReadAsByteArrayAsync();
        Assert.Equal(PngSignature, bytes[..8]);
        Assert.NotEqual(source, bytes);
    }

    [Fact]
    public async Task Type_columns_are_returned_with_the_job()
    {
        using var alice = app.Client();
        var (location, _) = await SubmitAcceptedAsync(alice, "emotion-mask", Portrait(), ("emotion", "joy"));
        var job = await WaitUntilFinishedAsync(alice, location);
        Assert.Equal("joy", job.GetProperty("columns").GetProperty(EmotionMaskGenerator.Type.Column).GetString());
    }

    [Fact]
    public async Task Another_users_job_reads_as_404_and_cannot_be_canceled()
    {
        using var alice = app.Client("dev-key-alice");
        using var bob = app.Client("dev-key-bob");
        var (location, _) = await SubmitAcceptedAsync(alice, "ghibli-reaction", Portrait(), ("reaction", "laughing"));

        using var read = await bob.GetAsync(location.TrimStart('/'));
        var problem = await ProblemAsync(read, HttpStatusCode.NotFound);
        Assert.Equal("not_found", problem.Str("code"));
        using var cancel = await bob.DeleteAsync(location.TrimStart('/'));
        await ProblemAsync(cancel, HttpStatusCode.NotFound);

        using var own = await alice.GetAsync(location.TrimStart('/'));
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
    }

    [Theory]
    [InlineData("GET", "api/types")]
    [InlineData("GET", "api/feed")]
    [InlineData("GET", "api/presets")]
    [InlineData("POST", "api/generations/neo-glitch")]
    [InlineData("GET", "api/generations/neo-glitch/01a21135-a995-7b3f-9eb3-af668e76a444")]
    [InlineData("DELETE", "api/generations/neo-glitch/01a21135-a995-7b3f-9eb3-af668e76a444")]
    public async Task Requests_without_a_valid_key_get_401_problem_details(string method, string path)
    {
        using var anonymous = app.Client(apiKey: null);
        using var missing = await anonymous.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        var problem = await ProblemAsync(missing, HttpStatusCode.Unauthorized);
        Assert.Equal("missing_api_key", problem.Str("code"));
        Assert.Contains("X-Api-Key", missing.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);

        using var wrong = app.Client(apiKey: "dev-key-mallory");
        using var unknown = await wrong.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        Assert.Equal("unknown_api_key", (await ProblemAsync(unknown, HttpStatusCode.Unauthorized)).Str("code"));
    }

    [Fact]
    public async Task Canceling_a_finished_job_is_409_and_an_unknown_job_is_404()
    {
        using var alice = app.Client();
        var (location, _) = await SubmitAcceptedAsync(alice, "neo-glitch", Portrait());
        var job = await WaitUntilFinishedAsync(alice, location);
        Assert.Equal("completed", job.Str("status"));

        using var finished = await alice.DeleteAsync(location.TrimStart('/'));
        Assert.Equal("already_finished", (await ProblemAsync(finished, HttpStatusCode.Conflict)).Str("code"));

        using var unknown = await alice.DeleteAsync($"api/generations/neo-glitch/{Guid.NewGuid()}");
        await ProblemAsync(unknown, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Feed_filters_by_tag_and_pages_with_a_cursor_newest_first()
    {
        using var alice = app.Client();
        var tag = "feed-" + Guid.NewGuid().ToString("N")[..10];
        var submitted = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            var (_, body) = await SubmitAcceptedAsync(alice, i == 1 ? "ghibli-reaction" : "neo-glitch", Portrait(), ("tags", tag));
            submitted.Add(body.GetProperty("id").GetGuid());
        }

        await SubmitAcceptedAsync(alice, "neo-glitch", Portrait(), ("tags", "other-" + tag));

        var first = await alice.GetFromJsonAsync<JsonElement>($"api/feed?tag={tag}&limit=2");
        var firstItems = first.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(2, firstItems.Count);
        var cursor = first.Str("nextCursor");
        Assert.False(string.IsNullOrEmpty(cursor));

        var second = await alice.GetFromJsonAsync<JsonElement>($"api/feed?tag={tag}&limit=2&cursor={Uri.EscapeDataString(cursor!)}");
        var secondItems = second.GetProperty("items").EnumerateArray().ToList();
        Assert.Single(secondItems);
        Assert.Equal(JsonValueKind.Null, second.GetProperty("nextCursor").ValueKind);

        var all = firstItems.Concat(secondItems).ToList();
        Assert.All(all, item => Assert.Contains(tag, item.GetProperty("tags").EnumerateArray().Select(t => t.GetString())));
        var ids = all.Select(item => item.GetProperty("id").GetGuid()).ToList();
        Assert.Equal(Enumerable.Reverse(submitted), ids);

        var onlyGhibli = await alice.GetFromJsonAsync<JsonElement>($"api/feed?tag={tag}&type=ghibli-reaction");
        Assert.Equal([submitted[1]], onlyGhibli.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetGuid()));

        using var bob = app.Client("dev-key-bob");
        var bobs = await bob.GetFromJsonAsync<JsonElement>($"api/feed?tag={tag}");
        Assert.Empty(bobs.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task Feed_refuses_an_unknown_status_and_a_bad_cursor_as_problem_details()
    {
        using var alice = app.Client();
        using var status = await alice.GetAsync("api/feed?status=sleeping");
        Assert.Equal("status", (await ProblemAsync(status, HttpStatusCode.BadRequest)).Str("field"));
        using var cursor = await alice.GetAsync("api/feed?cursor=not-a-cursor");
        Assert.Equal("cursor", (await ProblemAsync(cursor, HttpStatusCode.BadRequest)).Str("field"));
        using var limit = await alice.GetAsync("api/feed?limit=many");
        Assert.Equal("limit", (await ProblemAsync(limit, HttpStatusCode.BadRequest)).Str("field"));
    }

    [Fact]
    public async Task Presets_lists_the_rotation_of_the_weeks_date_with_the_next_rotation()
    {
        using var alice = app.Client();
        var date = new DateOnly(2025, 4, 1);
        var expected = app.Services.GetRequiredService<IPresetRotation>().GetWeek(date);

        var week = await alice.GetFromJsonAsync<JsonElement>("api/presets?date=2025-04-01");
        Assert.Equal(expected.Week.ToString(), week.Str("week"));
        Assert.Equal("2025-W14", week.Str("week"));
        Assert.Equal(expected.NextRotation, week.GetProperty("nextRotation").GetDateTimeOffset());
        Assert.Equal(TimeSpan.FromDays(7), week.GetProperty("nextRotation").GetDateTimeOffset() - week.GetProperty("weekStart").GetDateTimeOffset());
        Assert.Equal(expected.Active.Select(p => p.Key), week.GetProperty("active").EnumerateArray().Select(p => p.Str("key")));
        Assert.All(week.GetProperty("active").EnumerateArray(), p => Assert.False(string.IsNullOrEmpty(p.Str("name"))));

        var later = await alice.GetFromJsonAsync<JsonElement>("api/presets?date=2025-04-08");
        Assert.NotEqual(week.GetProperty("active").ToString(), later.GetProperty("active").ToString());

        using var bad = await alice.GetAsync("api/presets?date=01/04/2025");
        Assert.Equal("date", (await ProblemAsync(bad, HttpStatusCode.BadRequest)).Str("field"));
    }

    [Fact]
    public async Task Types_lists_every_registered_type_with_its_options()
    {
        using var alice = app.Client();
        var types = (await alice.GetFromJsonAsync<JsonElement>("api/types")).EnumerateArray().ToDictionary(t => t.Str("name")!);
        Assert.Equal(["custom-prompt", "emotion-mask", "ghibli-reaction", "neo-glitch", "presets"], types.Keys.Order());

        static List<string> Choices(JsonElement type, string field) => type.GetProperty("fields").EnumerateArray()
            .Single(f => f.Str("name") == field).GetProperty("choices").EnumerateArray().Select(c => c.Str("value")!).ToList();

        // The choice types' fields come from their definitions, choice for choice.
        Assert.Equal(EmotionMaskGenerator.Type.Choices.Select(c => c.Key), Choices(types["emotion-mask"], "emotion"));
        Assert.Equal(GhibliReactionGenerator.Type.Choices.Select(c => c.Key), Choices(types["ghibli-reaction"], "reaction"));
        Assert.Equal(NeoGlitchGenerator.Type.Choices.Select(c => c.Key), Choices(types["neo-glitch"], "style"));
        var style = types["neo-glitch"].GetProperty("fields").EnumerateArray().Single(f => f.Str("name") == "style");
        Assert.Equal("base", style.Str("default"));
        Assert.Equal("Visor", style.GetProperty("choices").EnumerateArray().Single(c => c.Str("value") == "visor").Str("label"));
        var activePresets = app.Services.GetRequiredService<IPresetRotation>().GetWeek().Active.Select(p => p.Key);
        Assert.Equal(activePresets, Choices(types["presets"], "preset"));

        Assert.False(types["custom-prompt"].GetProperty("requiresImage").GetBoolean());
        Assert.True(types["neo-glitch"].GetProperty("requiresImage").GetBoolean());
        var prompt = types["custom-prompt"].GetProperty("fields").EnumerateArray().Single(f => f.Str("name") == "prompt");
        Assert.True(prompt.GetProperty("required").GetBoolean());
        Assert.All(types.Values, t => Assert.False(string.IsNullOrEmpty(t.Str("displayName"))));
    }

    [Fact]
    public async Task Unknown_type_is_404_problem_details()
    {
        using var alice = app.Client();
        using var submit = await SubmitAsync(alice, "watercolor", Portrait());
        var problem = await ProblemAsync(submit, HttpStatusCode.NotFound);
        Assert.Equal("invalid_request.unknown_type", problem.Str("code"));
        Assert.Equal("type", problem.Str("field"));

        using var read = await alice.GetAsync($"api/generations/watercolor/{Guid.NewGuid()}");
        await ProblemAsync(read, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task An_upload_that_is_not_an_image_is_400_with_the_image_field()
    {
        using var alice = app.Client();
        using var response = await SubmitAsync(alice, "neo-glitch", Encoding.UTF8.GetBytes("this is plain text, not a picture"));
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("image", problem.Str("field"));
        Assert.StartsWith("invalid_request.", problem.Str("code"), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(problem.Str("detail")));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public async Task An_empty_prompt_for_custom_prompt_is_400_with_the_prompt_field(string prompt)
    {
        using var alice = app.Client();
        using var response = await SubmitAsync(alice, "custom-prompt", image: null, ("prompt", prompt));
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("prompt", problem.Str("field"));
        Assert.StartsWith("invalid_request.prompt_", problem.Str("code"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Custom_prompt_without_an_image_generates_from_text()
    {
        using var alice = app.Client();
        var (location, _) = await SubmitAcceptedAsync(alice, "custom-prompt", image: null, ("prompt", "a lighthouse at dusk"));
        var job = await WaitUntilFinishedAsync(alice, location);
        Assert.Equal("completed", job.Str("status"));
        Assert.Equal("a lighthouse at dusk", job.Str("prompt"));
    }

    [Fact]
    public async Task An_unknown_emotion_is_400_with_the_emotion_field()
    {
        using var alice = app.Client();
        using var response = await SubmitAsync(alice, "emotion-mask", Portrait(), ("emotion", "boredom"));
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("emotion", problem.Str("field"));
        Assert.Equal("invalid_request.unknown_emotion", problem.Str("code"));
    }

    [Fact]
    public async Task A_json_body_is_415_problem_details()
    {
        using var alice = app.Client();
        using var response = await alice.PostAsJsonAsync("api/generations/neo-glitch", new { prompt = "hello" });
        var problem = await ProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
        Assert.Equal("unsupported_media_type", problem.Str("code"));
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("DELETE")]
    public async Task A_malformed_id_is_400_problem_details(string method)
    {
        using var alice = app.Client();
        using var response = await alice.SendAsync(new HttpRequestMessage(new HttpMethod(method), "api/generations/neo-glitch/not-a-uuid"));
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("id", problem.Str("field"));
    }

    [Fact]
    public async Task Both_an_image_and_an_image_url_is_400()
    {
        using var alice = app.Client();
        using var response = await SubmitAsync(alice, "neo-glitch", Portrait(), ("imageUrl", "https://example.com/a.png"));
        Assert.Equal("image", (await ProblemAsync(response, HttpStatusCode.BadRequest)).Str("field"));
    }

    [Fact]
    public async Task An_idempotency_key_returns_the_same_job()
    {
        using var alice = app.Client();
        var key = Guid.NewGuid().ToString("N");
        using var first = await SubmitAsync(alice, "neo-glitch", Portrait(), key);
        using var second = await SubmitAsync(alice, "neo-glitch", Portrait(), key);
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        var a = await first.Content.ReadFromJsonAsync<JsonElement>();
        var b = await second.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(a.GetProperty("id").GetGuid(), b.GetProperty("id").GetGuid());
        Assert.False(a.GetProperty("existing").GetBoolean());
        Assert.True(b.GetProperty("existing").GetBoolean());
        Assert.Equal(first.Headers.Location, second.Headers.Location);
    }

    [Fact]
    public async Task An_idempotency_key_reused_with_a_different_request_is_a_409_conflict()
    {
        using var alice = app.Client();
        var key = Guid.NewGuid().ToString("N");
        using var first = await SubmitAsync(alice, "custom-prompt", null, key, ("prompt", "a red fox"));
        using var second = await SubmitAsync(alice, "custom-prompt", null, key, ("prompt", "a blue whale"));
        using var same = await SubmitAsync(alice, "custom-prompt", null, key, ("prompt", "a red fox"));

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        var id = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var conflict = await ProblemAsync(second, HttpStatusCode.Conflict);
        Assert.Equal("invalid_request.idempotency_conflict", conflict.Str("code"));
        Assert.Contains(id.ToString(), conflict.Str("detail"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Accepted, same.StatusCode);
        Assert.Equal(id, (await same.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid());
    }

    [Fact]
    public async Task The_openapi_document_describes_the_api()
    {
        using var anonymous = app.Client(apiKey: null);
        using var response = await anonymous.GetAsync("openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.StartsWith("3.", document.Str("openapi"), StringComparison.Ordinal);
        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("/api/generations/{type}", paths);
        Assert.Contains("/api/generations/{type}/{id}", paths);
        Assert.Contains("/api/feed", paths);
        Assert.Contains("/api/presets", paths);
        Assert.Contains("/api/types", paths);
        var submit = document.GetProperty("paths").GetProperty("/api/generations/{type}").GetProperty("post");
        Assert.True(submit.GetProperty("requestBody").GetProperty("content").TryGetProperty("multipart/form-data", out _));
        Assert.True(submit.GetProperty("responses").TryGetProperty("202", out _));
    }

    [Fact]
    public async Task The_openapi_document_requires_the_api_key_everywhere_and_documents_idempotency_and_feed_parameters()
    {
        using var anonymous = app.Client(apiKey: null);
        var document = await anonymous.GetFromJsonAsync<JsonElement>("openapi/v1.json");
        var scheme = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("ApiKey");
        Assert.Equal("apiKey", scheme.Str("type"));
        Assert.Equal("header", scheme.Str("in"));
        Assert.Equal("X-Api-Key", scheme.Str("name"));
        var operations = document.GetProperty("paths").EnumerateObject()
            .Where(p => p.Name.StartsWith("/api/", StringComparison.Ordinal))
            .SelectMany(p => p.Value.EnumerateObject().Select(o => (Path: p.Name, Method: o.Name, Operation: o.Value)))
            .ToList();
        Assert.True(operations.Count >= 6);
        Assert.All(operations, o =>
        {
            Assert.True(o.Operation.GetProperty("responses").TryGetProperty("401", out _), $"{o.Method} {o.Path} documents no 401");
            Assert.Contains(o.Operation.GetProperty("security").EnumerateArray(), r => r.TryGetProperty("ApiKey", out _));
        });

        static IEnumerable<string> Parameters(JsonElement operation, string location) =>
            operation.GetProperty("parameters").EnumerateArray().Where(p => p.Str("in") == location).Select(p => p.Str("name")!);
        var submit = operations.Single(o => o.Path == "/api/generations/{type}" && o.Method == "post").Operation;
        Assert.Contains("Idempotency-Key", Parameters(submit, "header"));
        var feed = operations.Single(o => o.Path == "/api/feed" && o.Method == "get").Operation;
        Assert.Equal(["cursor", "limit", "status", "tag", "type"], Parameters(feed, "query").Order());
    }

    [Fact]
    public async Task The_openapi_document_gives_types_and_choices_as_enums_from_the_definitions()
    {
        using var anonymous = app.Client(apiKey: null);
        var document = await anonymous.GetFromJsonAsync<JsonElement>("openapi/v1.json");
        var submit = document.GetProperty("paths").GetProperty("/api/generations/{type}").GetProperty("post");
        var definitions = app.Services.GetRequiredService<Stefna.Sdk.IGenerationPipeline>().Types;

        var type = submit.GetProperty("parameters").EnumerateArray().Single(p => p.Str("name") == "type");
        Assert.Equal(definitions.Select(t => t.Name).Order(), type.GetProperty("schema").GetProperty("enum").EnumerateArray().Select(e => e.GetString()!).Order());

        foreach (var mediaType in new[] { "multipart/form-data", "application/x-www-form-urlencoded" })
        {
            var fields = submit.GetProperty("requestBody").GetProperty("content").GetProperty(mediaType).GetProperty("schema").GetProperty("properties");
            foreach (var input in definitions.SelectMany(t => t.Inputs).Where(i => i.Name != "preset"))
            {
                var values = fields.GetProperty(input.Name).GetProperty("enum").EnumerateArray().Select(e => e.GetString()).ToList();
                Assert.All(input.Choices, c => Assert.Contains(c.Key, values));
            }

            Assert.True(fields.TryGetProperty("image", out _));
            Assert.True(fields.TryGetProperty("preset", out _));
        }
    }

    [Fact]
    public async Task Health_lists_every_type_with_store_and_provider()
    {
        await app.WorkersStartedAsync(); // this test may be the first to use the shared app
        using var anonymous = app.Client(apiKey: null);
        using var response = await anonymous.GetAsync("health");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var report = JsonDocument.Parse(text).RootElement;
        Assert.Equal("Healthy", report.Str("status"));
        var types = report.GetProperty("types").EnumerateObject().ToDictionary(p => p.Name, p => p.Value);
        var registered = app.Services.GetRequiredService<Stefna.Sdk.IGenerationPipeline>().Types.Select(t => t.Name);
        Assert.Equal(registered.Order(), types.Keys.Order());
        Assert.All(types.Values, t =>
        {
            Assert.Equal("Healthy", t.Str("status"));
            Assert.Equal("ok", t.GetProperty("data").Str("store"));
            Assert.Equal("offline", t.GetProperty("data").Str("provider"));
            Assert.Equal("running", t.GetProperty("data").Str("worker"));
            Assert.Equal("closed", t.GetProperty("data").Str("circuit"));
        });
    }

    [Fact]
    public async Task The_page_and_its_script_are_served_without_a_key()
    {
        using var anonymous = app.Client(apiKey: null);
        var html = await anonymous.GetStringAsync("");
        Assert.Contains("<script src=\"app.js\"></script>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        using var script = await anonymous.GetAsync("app.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);

        // Development-only key listing is absent in this Production host.
        using var keys = await anonymous.GetAsync("dev/api-keys");
        Assert.Equal(HttpStatusCode.NotFound, keys.StatusCode);
    }
}
