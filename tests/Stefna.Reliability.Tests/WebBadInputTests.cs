using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Stefna.Samples.Web;
using Stefna.Sdk.Net;
using Stefna.TestUtils;

namespace Stefna.Reliability.Tests;

/// <summary>The web API sample (samples/Stefna.Samples.Web) on 127.0.0.1, worker off, a 200 kB image limit, and
/// test host names resolved by <see cref="MapResolver"/>. Every bad request is answered before anything is written.</summary>
public sealed class WebApiHost : IAsyncLifetime
{
    public const long MaxImageBytes = 200_000;
    private readonly TempDirectory _data = new();
    private WebApplication? _app;

    public string DataDirectory => _data.Path;

    public Uri BaseAddress { get; private set; } = null!;

    public HttpClient Client(string? apiKey = "dev-key-alice")
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        }

        return client;
    }

    public async Task InitializeAsync()
    {
        var sample = Path.Combine(Figures.RepoRoot, "samples", "Stefna.Samples.Web");
        _app = StefnaWebApp.Create(
        [
            "--urls", "http://127.0.0.1:0",
            "--environment", "Production",
            "--contentRoot", sample,
            $"--Stefna:DataDirectory={_data.Path}",
            "--Stefna:RunWorker=false",
            $"--Stefna:MaxImageBytes={MaxImageBytes}",
            "--Logging:LogLevel:Default=Warning",
        ], b => b.Services.Replace(ServiceDescriptor.Singleton<IHostAddressResolver>(new MapResolver())));
        await _app.StartAsync();
        BaseAddress = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single().TrimEnd('/') + "/");
    }

    public long CountRows() => SqliteRows.Count(_data.Path, SdkHost.Tables);

    public IReadOnlyList<string> ImageFiles()
    {
        var images = Path.Combine(_data.Path, "images");
        return Directory.Exists(images) ? Directory.GetFiles(images, "*", SearchOption.AllDirectories) : [];
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        _data.Dispose();
    }
}

/// <summary>
/// Bad input through the web API: POST /api/generations/{type} (and a read) with bad uploads and fields answers a
/// 4xx ProblemDetails with a code and a detail a person can act on; no row and no file is written.
/// </summary>
public sealed class WebBadInputTests(WebApiHost web) : IClassFixture<WebApiHost>
{
    private static readonly byte[] Png = TestImages.Png(64, 48, seed: 21);

    public static TheoryData<string> Cases => [.. Requests.Keys];

    // Code null: the answer comes from ASP.NET Core itself (the endpoint's Accepts filter answers 415 before the
    // sample's handler runs), a ProblemDetails with a title but without the sample's code extension.
    private sealed record Case(Func<HttpRequestMessage> Build, HttpStatusCode Status, string? Code);

    private static HttpRequestMessage Form(string type, byte[]? image = null, string fileName = "photo.png", string contentType = "image/png", params (string Name, string Value)[] fields)
    {
        var form = new MultipartFormDataContent();
        if (image is not null)
        {
            var file = new ByteArrayContent(image);
            file.Headers.ContentType = new MediaTypeHeaderValue(contentType);
            form.Add(file, "image", fileName);
        }

        foreach (var (name, value) in fields)
        {
            form.Add(new StringContent(value), name);
        }

        return new HttpRequestMessage(HttpMethod.Post, $"api/generations/{type}") { Content = form };
    }

    private static readonly Dictionary<string, Case> Requests = new()
    {
        ["JSON body instead of a form"] = new(() => new HttpRequestMessage(HttpMethod.Post, "api/generations/neo-glitch") { Content = new StringContent("{\"prompt\":\"x\"}", Encoding.UTF8, "application/json") }, HttpStatusCode.UnsupportedMediaType, "unsupported_media_type"),
        ["body larger than the image limit plus overhead"] = new(() => Form("neo-glitch", new byte[2_000_000]), HttpStatusCode.RequestEntityTooLarge, "request_too_large"),
        ["image over the configured limit"] = new(() => Form("neo-glitch", new byte[WebApiHost.MaxImageBytes + 10_000]), HttpStatusCode.BadRequest, "invalid_request.image_too_large"),
        ["empty image file"] = new(() => Form("neo-glitch", []), HttpStatusCode.BadRequest, "invalid_request.image_empty"),
        ["truncated PNG"] = new(() => Form("neo-glitch", TestImages.TruncatedPng()), HttpStatusCode.BadRequest, "invalid_request.truncated"),
        ["corrupt PNG"] = new(() => Form("neo-glitch", TestImages.CorruptPng()), HttpStatusCode.BadRequest, "invalid_request.corrupt"),
        ["text uploaded as image/png"] = new(() => Form("neo-glitch", "hello, not an image"u8.ToArray()), HttpStatusCode.BadRequest, "invalid_request.not_an_image"),
        ["script uploaded as text/html"] = new(() => Form("neo-glitch", "<script>alert(1)</script>"u8.ToArray(), "x.html", "text/html"), HttpStatusCode.BadRequest, "invalid_request.not_an_image"),
        ["small file declaring huge dimensions"] = new(() => Form("neo-glitch", TestImages.PngDeclaring(90_000, 90_000)), HttpStatusCode.BadRequest, "invalid_request.too_many_pixels"),
        ["unknown type"] = new(() => Form("deep-fake", Png), HttpStatusCode.NotFound, "invalid_request.unknown_type"),
        ["encoded path traversal as the type"] = new(() => Form("..%2F..%2Fneo-glitch", Png), HttpStatusCode.NotFound, "invalid_request.unknown_type"),
        ["unknown preset"] = new(() => Form("presets", Png, fields: ("preset", "no-such-preset")), HttpStatusCode.BadRequest, "invalid_request.unknown_preset"),
        ["unknown emotion"] = new(() => Form("emotion-mask", Png, fields: ("emotion", "smug")), HttpStatusCode.BadRequest, "invalid_request.unknown_emotion"),
        ["missing prompt"] = new(() => Form("custom-prompt", fields: ("prompt", "")), HttpStatusCode.BadRequest, "invalid_request.prompt_required"),
        ["oversized prompt"] = new(() => Form("custom-prompt", fields: ("prompt", new string('p', 3000))), HttpStatusCode.BadRequest, "invalid_request.prompt_too_long"),
        ["prompt with a right-to-left override"] = new(() => Form("custom-prompt", fields: ("prompt", "invoice \u202Egnp.exe")), HttpStatusCode.BadRequest, "invalid_request.prompt_control_character"),
        ["SQL metacharacters in a tag"] = new(() => Form("custom-prompt", fields: [("prompt", "a cat"), ("tags", "x'; DROP TABLE custom_prompt_media;--")]), HttpStatusCode.BadRequest, "invalid_request.tag_invalid"),
        ["file:// image URL"] = new(() => Form("neo-glitch", fields: ("imageUrl", "file:///etc/passwd")), HttpStatusCode.BadRequest, "invalid_request.bad_image_url"),
        ["image URL resolving to cloud metadata"] = new(() => Form("neo-glitch", fields: ("imageUrl", "http://metadata.test/latest/meta-data/")), HttpStatusCode.BadRequest, "invalid_request.url_private_address"),
        ["image URL at 169.254.169.254"] = new(() => Form("neo-glitch", fields: ("imageUrl", "http://169.254.169.254/latest/meta-data/")), HttpStatusCode.BadRequest, "invalid_request.url_private_address"),
        ["image URL resolving to a private range"] = new(() => Form("neo-glitch", fields: ("imageUrl", "http://private192.test/router.png")), HttpStatusCode.BadRequest, "invalid_request.url_private_address"),
        ["image URL at loopback"] = new(() => Form("neo-glitch", fields: ("imageUrl", "http://127.0.0.1:9/a.png")), HttpStatusCode.BadRequest, "invalid_request.url_private_address"),
        ["both an image and an image URL"] = new(() => Form("neo-glitch", Png, fields: ("imageUrl", "http://metadata.test/a.png")), HttpStatusCode.BadRequest, "invalid_request.image_and_url"),
        ["path traversal as a job id"] = new(() => new HttpRequestMessage(HttpMethod.Get, "api/generations/neo-glitch/..%2F..%2Fetc%2Fpasswd"), HttpStatusCode.BadRequest, "invalid_request.bad_id"),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Bad_input_through_the_web_api_answers_a_4xx_problem_and_writes_nothing(string name)
    {
        var c = Requests[name];
        using var client = web.Client();
        using var request = c.Build();
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == c.Status, $"expected {(int)c.Status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal((int)c.Status, problem.GetProperty("status").GetInt32());
        if (c.Code is null)
        {
            Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
        }
        else
        {
            Assert.Equal(c.Code, problem.GetProperty("code").GetString());
            Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
        }

        Assert.Equal(0, web.CountRows());
        Assert.Empty(web.ImageFiles());
        Figures.Record("bad input (web): " + name, new Dictionary<string, object> { ["bad_inputs_tried"] = 1, ["status"] = (int)response.StatusCode, ["code"] = c.Code ?? "(framework 415)" });
    }
}
