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
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = ChromiumPath,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic"],
            Timeout = 60_000,
        });
        var context = await browser.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 1000 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(60_000);
        var pageErrors = new List<string>();
        page.PageError += (_, error) => pageErrors.Add(error);
        var offHost = new List<string>();
        page.Request += (_, request) =>
        {
            if (!request.Url.StartsWith(app.BaseAddress.ToString(), StringComparison.Ordinal) && !request.Url.StartsWith("blob:", StringComparison.Ordinal) && !request.Url.StartsWith("data:", StringComparison.Ordinal))
            {
                offHost.Add(request.Url);
            }
        };

        await page.GotoAsync(app.BaseAddress.ToString());

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

        // The status is polled live until the generated image shows and has loaded.
        await page.WaitForFunctionAsync("() => { const i = document.getElementById('result'); return !i.hidden && i.complete && i.naturalWidth > 0; }");
        Assert.Equal("completed", await page.Locator("#job-status").InnerTextAsync());
        var src = await page.Locator("#result").GetAttributeAsync("src");
        Assert.StartsWith("/media/results/neo-glitch/", src, StringComparison.Ordinal);
        var jobId = (await page.Locator("#job-id").InnerTextAsync()).Trim();
        Assert.True(Guid.TryParse(jobId, out _), $"'{jobId}' is not a job id");

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

        Directory.CreateDirectory(Path.GetDirectoryName(ScreenshotPath)!);
        await page.ScreenshotAsync(new() { Path = ScreenshotPath, FullPage = true });
        Assert.True(new FileInfo(ScreenshotPath).Length > 0);

        Assert.Empty(pageErrors);
        Assert.Empty(offHost);
    }
}
