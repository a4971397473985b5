using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static Stefna.Samples.Web.Tests.ApiHelpers;

namespace Stefna.Samples.Web.Tests;

/// <summary>One server-sent event as read off the wire.</summary>
internal sealed record SseEvent(string? Name, string? Id, JsonElement Data);

/// <summary>Reads <c>text/event-stream</c> line by line: events, and the comments between them.</summary>
internal sealed class SseReader(Stream stream) : IDisposable
{
    private readonly StreamReader _reader = new(stream);

    /// <summary>Comment lines seen so far (without the colon).</summary>
    public List<string> Comments { get; } = [];

    /// <summary>The next event, or null when the stream ended.</summary>
    public async Task<SseEvent?> NextAsync(CancellationToken cancellationToken)
    {
        string? name = null, id = null, data = null;
        while (await _reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (data is not null)
                {
                    return new SseEvent(name, id, JsonDocument.Parse(data).RootElement.Clone());
                }

                continue;
            }

            if (line.StartsWith(':'))
            {
                Comments.Add(line[1..].Trim());
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line["event: ".Length..];
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line["id: ".Length..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data = line["data: ".Length..];
            }
        }

        return null;
    }

    public void Dispose() => _reader.Dispose();

    /// <summary>Opens a job's event stream (headers only; the body is read as it comes).</summary>
    public static Task<HttpResponseMessage> OpenAsync(HttpClient client, string location) =>
        client.SendAsync(new HttpRequestMessage(HttpMethod.Get, location.TrimStart('/') + "/events") { Headers = { Accept = { new MediaTypeWithQualityHeaderValue("text/event-stream") } } }, HttpCompletionOption.ResponseHeadersRead);
}

/// <summary>
/// <c>GET /api/generations/{type}/{id}/events</c> on a host whose worker is off and whose clock only moves when a test
/// moves it: no poll and no heartbeat happens by itself, so every event the test reads is one it caused.
/// </summary>
public sealed class EventStreamTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);

    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly WebAppFixture _app;

    public EventStreamTests() => _app = new WebAppFixture
    {
        ExtraArgs = ["--Stefna:RunWorker=false"],
        Configure = b => b.Services.AddSingleton<TimeProvider>(_clock),
    };

    public Task InitializeAsync() => _app.InitializeAsync();

    public Task DisposeAsync() => _app.DisposeAsync();

    [Fact]
    public async Task The_stream_sends_the_current_state_heartbeats_while_nothing_changes_and_ends_after_the_cancel()
    {
        using var alice = _app.Client();
        var (location, body) = await SubmitAcceptedAsync(alice, "neo-glitch", Portrait());
        using var deadline = new CancellationTokenSource(Wait);
        using var response = await SseReader.OpenAsync(alice, location);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
        using var events = new SseReader(await response.Content.ReadAsStreamAsync(deadline.Token));

        var first = await events.NextAsync(deadline.Token);
        Assert.Equal(("status", "1", "queued"), (first!.Name, first.Id, first.Data.Str("status")));
        Assert.Equal(body.GetProperty("id").GetGuid(), first.Data.GetProperty("id").GetGuid());

        // Nothing changes: the clock moves past the heartbeat interval (again, until the server's wait has begun), and a
        // comment arrives, not an event. Then the user cancels: the final state, and the stream ends.
        var next = events.NextAsync(deadline.Token);
        while (events.Comments.Count == 0 && !next.IsCompleted)
        {
            _clock.Advance(Heartbeat);
            await Task.Delay(20, deadline.Token);
        }

        Assert.False(next.IsCompleted);
        Assert.Equal("heartbeat", events.Comments[0]);
        using (var cancel = await alice.DeleteAsync(location.TrimStart('/')))
        {
            Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        }

        var canceled = await next;
        Assert.Equal(("status", "2", "canceled"), (canceled!.Name, canceled.Id, canceled.Data.Str("status")));
        Assert.Null(await events.NextAsync(deadline.Token));
    }

    [Fact]
    public async Task A_client_that_leaves_stops_its_watch()
    {
        using var alice = _app.Client();
        var (location, _) = await SubmitAcceptedAsync(alice, "neo-glitch", Portrait());
        using var deadline = new CancellationTokenSource(Wait);
        var response = await SseReader.OpenAsync(alice, location);
        using (var events = new SseReader(await response.Content.ReadAsStreamAsync(deadline.Token)))
        {
            Assert.Equal("queued", (await events.NextAsync(deadline.Token))!.Data.Str("status"));
            Assert.Equal(1, WatchedJobs());
        }

        // The client closes the connection: the request is aborted and the SDK's watch of the job ends with it.
        response.Dispose();
        while (WatchedJobs() != 0)
        {
            await Task.Delay(10, deadline.Token);
        }
    }

    // How many jobs the SDK's watch hub follows right now: internal to the SDK, so read by reflection here.
    private int WatchedJobs()
    {
        var hubType = typeof(Stefna.Sdk.IGenerationObserver).Assembly.GetType("Stefna.Sdk.Internal.JobWatchHub", throwOnError: true)!;
        var hub = _app.Services.GetRequiredService(hubType);
        return (int)hubType.GetProperty("WatchedCount")!.GetValue(hub)!;
    }

    [Fact]
    public async Task The_stream_needs_the_api_key_and_is_user_scoped()
    {
        using var alice = _app.Client();
        using var bob = _app.Client("dev-key-bob");
        using var anonymous = _app.Client(apiKey: null);
        var (location, _) = await SubmitAcceptedAsync(alice, "neo-glitch", Portrait());

        using (var response = await SseReader.OpenAsync(anonymous, location))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        using (var response = await SseReader.OpenAsync(bob, location))
        {
            Assert.Equal("not_found", (await ProblemAsync(response, HttpStatusCode.NotFound)).Str("code"));
        }

        using (var response = await SseReader.OpenAsync(alice, "/api/generations/neo-glitch/not-a-uuid"))
        {
            await ProblemAsync(response, HttpStatusCode.BadRequest);
        }
    }

    [Fact]
    public async Task The_openapi_document_describes_the_stream_as_text_event_stream()
    {
        using var anonymous = _app.Client(apiKey: null);
        var document = await anonymous.GetFromJsonAsync<JsonElement>("openapi/v1.json");
        var operation = document.GetProperty("paths").GetProperty("/api/generations/{type}/{id}/events").GetProperty("get");
        Assert.Equal("WatchGeneration", operation.Str("operationId"));
        Assert.True(operation.GetProperty("responses").GetProperty("200").GetProperty("content").TryGetProperty("text/event-stream", out _));
        Assert.Contains(operation.GetProperty("security").EnumerateArray(), r => r.TryGetProperty("ApiKey", out _));
    }
}

/// <summary>The stream against the sample as it runs (worker on, offline provider): a job followed to its image.</summary>
[Collection(WebAppCollection.Name)]
public sealed class EventStreamCompletionTests(WebAppFixture app)
{
    [Fact]
    public async Task A_job_is_followed_to_completed_with_its_image_and_the_stream_ends()
    {
        using var alice = app.Client();
        var (location, _) = await SubmitAcceptedAsync(alice, "neo-glitch", Portrait());
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var response = await SseReader.OpenAsync(alice, location);
        using var events = new SseReader(await response.Content.ReadAsStreamAsync(deadline.Token));
        var states = new List<SseEvent>();
        while (await events.NextAsync(deadline.Token) is { } next)
        {
            states.Add(next);
        }

        // Snapshots in lifecycle order (a fast job may skip one), numbered, the last one completed with its image.
        var order = new[] { "queued", "processing", "completed" };
        var seen = states.Select(s => Array.IndexOf(order, s.Data.Str("status"))).ToList();
        Assert.DoesNotContain(-1, seen);
        Assert.Equal(seen.Order(), seen);
        Assert.Equal(Enumerable.Range(1, states.Count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), states.Select(s => s.Id));
        Assert.Equal("completed", states[^1].Data.Str("status"));
        using var image = await alice.GetAsync(states[^1].Data.Str("imageUrl")!.TrimStart('/'));
        Assert.Equal(HttpStatusCode.OK, image.StatusCode);
    }
}
