using Microsoft.Playwright;

namespace Stefna.Samples.Web.Tests;

/// <summary>The page, driven in the system's headless Chromium (Debian's <c>chromium</c> package) through Playwright.
/// Nothing downloads a browser: <c>playwright install</c> is never called.</summary>
[Collection(WebAppCollection.Name)]
public sealed class BrowserTests(WebAppFixture app)
{
    private const string ChromiumPath = "/usr/bin/chromium";

    public static string ScreenshotPath => Path.Combine(WebAppFixture.RepositoryRoot, "artifacts", "screenshots", "web-sample.png");

    [Fact]
    public async Task A_person_uploads_a_portrait_generates_neo_glitch_and_finds_it_in_the_gallery()
    {
        Assert.True(
            File.Exists(ChromiumPath),
            $"The browser test needs Debian's Chromium at {ChromiumPath} (apt-get install -y chromium)" +
            (Environment.GetEnvironmentVariable("CI") == "true" ? "; CI must install it before running the tests." : "."));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var context = await browser.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 1000 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(60_000);
        var pageErrors = new List<string>();
        page.PageError += (_, error) => pageErrors.Add(error);
        var offHost = new List<string>();
        var requests = new System.Collections.Concurrent.ConcurrentQueue<IRequest>();
        page.Request += (_, request) =>
        {
            requests.Enqueue(request);
            if (!request.Url.StartsWith(app.BaseAddress.ToString(), StringComparison.Ordinal) && !request.Url.StartsWith("blob:", StringComparison.Ordinal) && !request.Url.StartsWith("data:", StringComparison.Ordinal))
            {
                offHost.Add(request.Url);
            }
        };

        var cspViolations = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.Ordinal))
            {
                cspViolations.Add(message.Text);
            }
        };
        var pageResponse = await page.GotoAsync(app.BaseAddress.ToString());
        Assert.Contains("frame-ancestors 'none'", await pageResponse!.HeaderValueAsync("content-security-policy"), StringComparison.Ordinal);
        Assert.Equal("nosniff", await pageResponse.HeaderValueAsync("x-content-type-options"));

        // No broken-image box: the empty preview stays hidden until a photo is chosen, and every image shown has loaded.
        Assert.False(await page.Locator("#preview").IsVisibleAsync());
        Assert.True(await page.EvaluateAsync<bool>("() => [...document.images].filter(i => i.getClientRects().length > 0).every(i => i.complete && i.naturalWidth > 0)"));

        // Enter the API key and connect: the type list fills from /api/types.
        await page.GetByLabel("API key").FillAsync("dev-key-alice");
        await page.GetByRole(AriaRole.Button, new() { Name = "Connect" }).ClickAsync();
        await page.WaitForFunctionAsync("() => !document.getElementById('type').disabled && document.querySelector('#type option[value=\"neo-glitch\"]') !== null");

        // Pick neo-glitch and a style, upload the portrait, tag it, submit.
        await page.GetByLabel("Generation type").SelectOptionAsync("neo-glitch");
        await page.GetByLabel("Style").SelectOptionAsync("scanlines");
        await page.GetByLabel("Photo").SetInputFilesAsync(ApiHelpers.PortraitPath);
        var tag = "browser-" + Guid.NewGuid().ToString("N")[..8];
        await page.GetByLabel("Tags").FillAsync(tag);
        await page.GetByRole(AriaRole.Button, new() { Name = "Generate" }).ClickAsync();

        // The job is followed live through its event stream until the generated image shows and has loaded.
        await page.WaitForFunctionAsync("() => { const i = document.getElementById('result'); return !i.hidden && i.complete && i.naturalWidth > 0; }");
        Assert.Equal("completed", await page.Locator("#job-status").InnerTextAsync());
        var src = await page.Locator("#result").GetAttributeAsync("src");
        Assert.StartsWith("/media/results/neo-glitch/", src, StringComparison.Ordinal);
        var jobId = (await page.Locator("#job-id").InnerTextAsync()).Trim();
        Assert.True(Guid.TryParse(jobId, out _), $"'{jobId}' is not a job id");

        // Through the stream only: one request to the job's events (the API key in its header, never in a URL), none to
        // its status endpoint.
        var status = new Uri(app.BaseAddress, $"api/generations/neo-glitch/{jobId}").ToString();
        var streams = requests.Where(r => r.Url == status + "/events").ToList();
        Assert.Single(streams);
        Assert.Equal("dev-key-alice", (await streams[0].AllHeadersAsync())["x-api-key"]);
        Assert.Equal("text/event-stream", (await streams[0].AllHeadersAsync())["accept"]);
        Assert.DoesNotContain(requests, r => r.Url.Split('?')[0] == status);
        Assert.DoesNotContain(requests, r => r.Url.Contains("dev-key", StringComparison.Ordinal));

        // The gallery shows the new job with its loaded image; the tag filter narrows it to that job.
        var item = page.Locator($"#gallery li[data-id='{jobId}']");
        await item.WaitForAsync();
        await page.WaitForFunctionAsync($"() => {{ const i = document.querySelector(\"#gallery li[data-id='{jobId}'] img\"); return i && i.complete && i.naturalWidth > 0; }}");
        await page.GetByLabel("Tag", new() { Exact = true }).FillAsync(tag);
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await page.WaitForFunctionAsync("() => document.querySelectorAll('#gallery li').length === 1");
        Assert.Equal(jobId, await page.Locator("#gallery li").First.GetAttributeAsync("data-id"));
        Assert.Contains(tag, await page.Locator("#gallery li").First.InnerTextAsync(), StringComparison.Ordinal);

        // Clear the filter again so the screenshot shows the whole gallery.
        await page.GetByLabel("Tag", new() { Exact = true }).FillAsync(string.Empty);
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('#gallery img')].every(i => i.complete && i.naturalWidth > 0)");
        Assert.Empty(cspViolations);

        Directory.CreateDirectory(Path.GetDirectoryName(ScreenshotPath)!);
        await page.ScreenshotAsync(new() { Path = ScreenshotPath, FullPage = true });
        Assert.True(new FileInfo(ScreenshotPath).Length > 0);

        Assert.Empty(pageErrors);
        Assert.Empty(offHost);
    }

    [Fact]
    public async Task Watching_a_second_job_ends_the_first_ones_stream_a_4xx_ends_watching_and_a_gallery_error_keeps_the_empty_text()
    {
        Assert.True(File.Exists(ChromiumPath), $"The browser test needs Debian's Chromium at {ChromiumPath} (apt-get install -y chromium).");
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        page.SetDefaultTimeout(60_000);
        var pageErrors = new List<string>();
        page.PageError += (_, error) => pageErrors.Add(error);
        await page.GotoAsync(app.BaseAddress.ToString());
        await page.GetByLabel("API key").FillAsync("dev-key-alice");
        await page.GetByRole(AriaRole.Button, new() { Name = "Connect" }).ClickAsync();
        await page.WaitForFunctionAsync("() => !document.getElementById('type').disabled");

        // Job A's event stream is held in flight while the page starts watching job B: A's stream must not come back to
        // life (flipping the panel back to A) once its answer finally arrives.
        string a = Guid.NewGuid().ToString(), b = Guid.NewGuid().ToString(), gone = Guid.NewGuid().ToString();
        var counts = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        IRoute? heldA = null;
        var aInFlight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        static string Events(string id, string status) =>
            $$"""
            : heartbeat

            event: status
            id: 1
            data: {"id":"{{id}}","type":"neo-glitch","status":"{{status}}","tags":[]}


            """;
        await page.RouteAsync($"**/api/generations/neo-glitch/{a}/events", route =>
        {
            counts.AddOrUpdate(a, 1, (_, n) => n + 1);
            heldA = route;
            aInFlight.TrySetResult();
            return Task.CompletedTask;
        });
        await page.RouteAsync($"**/api/generations/neo-glitch/{b}/events", route =>
        {
            counts.AddOrUpdate(b, 1, (_, n) => n + 1);
            return route.FulfillAsync(new() { Status = 200, ContentType = "text/event-stream", Body = Events(b, "completed") });
        });
        await page.RouteAsync($"**/api/generations/neo-glitch/{gone}/events", route =>
        {
            counts.AddOrUpdate(gone, 1, (_, n) => n + 1);
            return route.FulfillAsync(new() { Status = 404, ContentType = "application/problem+json", Body = """{"title":"Not Found","status":404,"detail":"No such job."}""" });
        });

        await page.EvaluateAsync($"() => watch('/api/generations/neo-glitch/{a}', {{ id: '{a}', type: 'neo-glitch', status: 'queued' }})");
        await aInFlight.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await page.EvaluateAsync($"() => watch('/api/generations/neo-glitch/{b}', {{ id: '{b}', type: 'neo-glitch', status: 'queued' }})");
        await page.WaitForFunctionAsync($"() => document.getElementById('job-status').textContent === 'completed'");
        try
        {
            await heldA!.FulfillAsync(new() { Status = 200, ContentType = "text/event-stream", Body = Events(a, "failed") });
        }
        catch (PlaywrightException)
        {
            // The page aborted that request when it started watching B: nothing left to answer.
        }

        await page.WaitForTimeoutAsync(1_500); // longer than the page's retry delay
        Assert.Equal(b, (await page.Locator("#job-id").InnerTextAsync()).Trim());
        Assert.Equal("completed", await page.Locator("#job-status").InnerTextAsync());
        Assert.Equal(1, counts.GetValueOrDefault(a));
        Assert.Equal(1, counts.GetValueOrDefault(b)); // ended with its final state: not followed again

        // A 404 (another user's or a deleted job) is shown once and ends watching; it is not asked again.
        await page.EvaluateAsync($"() => watch('/api/generations/neo-glitch/{gone}', {{ id: '{gone}', type: 'neo-glitch', status: 'queued' }})");
        await page.WaitForFunctionAsync("() => !document.getElementById('job-error').hidden");
        await page.WaitForTimeoutAsync(1_500);
        Assert.Equal(1, counts.GetValueOrDefault(gone));
        Assert.Equal(1, counts.GetValueOrDefault(b));
        Assert.Equal("No such job.", await page.Locator("#job-error").InnerTextAsync());
        Assert.True(await page.Locator("#job-progress").IsHiddenAsync());

        // A failing feed shows its own error; an earlier load answering late changes nothing (the newest load wins); an
        // empty gallery still says so once the feed answers again. The feed is routed from here on, so no real load
        // still in flight can answer into the checks: the first routed load is held, the later ones fail.
        IRoute? heldFeed = null;
        var feedHeld = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var feedCalls = 0;
        await page.RouteAsync("**/api/feed?**", route =>
        {
            var call = Interlocked.Increment(ref feedCalls);
            if (call == 1)
            {
                heldFeed = route;
                feedHeld.TrySetResult();
                return Task.CompletedTask;
            }

            var detail = call == 2 ? "Feed down." : "Feed still down.";
            return route.FulfillAsync(new() { Status = 503, ContentType = "application/problem+json", Body = $$"""{"title":"Service Unavailable","status":503,"detail":"{{detail}}"}""" });
        });
        await page.GetByLabel("Tag", new() { Exact = true }).FillAsync("no-such-tag-" + Guid.NewGuid().ToString("N")[..8]);
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await feedHeld.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await page.WaitForFunctionAsync("() => document.getElementById('gallery-error').textContent === 'Feed down.'");
        try
        {
            var stale = $$"""{"items":[{"id":"{{a}}","type":"neo-glitch","status":"completed","tags":["stale"],"createdAt":"2026-01-01T00:00:00Z"}],"nextCursor":null}""";
            await heldFeed!.FulfillAsync(new() { Status = 200, ContentType = "application/json", Body = stale });
        }
        catch (PlaywrightException)
        {
            // The page aborted that load when the newer one started: nothing left to answer.
        }

        // A third load, sent after the stale answer was released, fails with its own text: once it shows, the stale
        // answer has had its turn, and it must not have filled the gallery.
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await page.WaitForFunctionAsync("() => document.getElementById('gallery-error').textContent === 'Feed still down.'");
        Assert.False(await page.Locator("#gallery-error").IsHiddenAsync());
        Assert.Equal(0, await page.Locator($"#gallery li[data-id='{a}']").CountAsync());
        await page.UnrouteAsync("**/api/feed?**");
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await page.WaitForFunctionAsync("() => document.getElementById('gallery-error').hidden && !document.getElementById('gallery-empty').hidden");
        Assert.Equal("Nothing here yet.", await page.Locator("#gallery-empty").InnerTextAsync());
        Assert.Empty(pageErrors);
    }

    private static Task<IBrowser> LaunchAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new()
    {
        ExecutablePath = ChromiumPath,
        Args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic"],
        Timeout = 60_000,
    });
}
