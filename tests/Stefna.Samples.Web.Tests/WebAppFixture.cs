using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Stefna.TestUtils;

namespace Stefna.Samples.Web.Tests;

/// <summary>The sample app, started as <c>dotnet run</c> would start it (its own appsettings.json as content root), on
/// a free loopback port with a temporary data folder.</summary>
public sealed class WebAppFixture : IAsyncLifetime
{
    private readonly TempDirectory _data = new();
    private WebApplication? _app;

    /// <summary>The app's base address, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The app's services.</summary>
    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("The app has not started.");

    /// <summary>The data folder (SQLite file + images).</summary>
    public string DataDirectory => _data.Path;

    /// <summary>Extra command-line arguments for the app.</summary>
    public IReadOnlyList<string> ExtraArgs { get; init; } = [];

    /// <summary>Adjusts the app's builder (adds a type or provider).</summary>
    public Action<WebApplicationBuilder>? Configure { get; init; }

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string SampleDirectory => Path.Combine(RepositoryRoot, "samples", "Stefna.Samples.Web");

    public async Task InitializeAsync()
    {
        _app = StefnaWebApp.Create(
        [
            "--urls", "http://127.0.0.1:0",
            "--environment", "Production",
            "--contentRoot", SampleDirectory,
            $"--Stefna:DataDirectory={_data.Path}",
            "--Logging:LogLevel:Default=Warning",
            .. ExtraArgs,
        ], Configure);
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        BaseAddress = new Uri(address.TrimEnd('/') + "/");
    }

    /// <summary>A client of the app, authenticated with an API key (none when <paramref name="apiKey"/> is null).</summary>
    public HttpClient Client(string? apiKey = "dev-key-alice")
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        }

        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return client;
    }

    /// <summary>Waits until every type's worker has started on this host: the producers start in the background after
    /// the app has started (once the store is initialised), so a <c>/health</c> read right after start may still find a
    /// type's worker "not started". The limit is a ceiling for a broken build.</summary>
    /// <returns>A task that ends when no type's worker reads "not started" (or "stopped").</returns>
    public async Task WorkersStartedAsync()
    {
        using var anonymous = Client(apiKey: null);
        List<string> notStarted = [];
        await Eventually.HoldsAsync(
            async () =>
            {
                using var response = await anonymous.GetAsync("health");
                var report = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
                // "stopped" too: a producer is listed a moment before its loop reports running.
                notStarted = report.GetProperty("types").EnumerateObject()
                    .Select(t => (t.Name, Worker: t.Value.GetProperty("data").Str("worker")))
                    .Where(t => t.Worker is "not started" or "stopped").Select(t => $"{t.Name} ({t.Worker})").ToList();
                return notStarted.Count == 0;
            },
            () => $"The workers of {string.Join(", ", notStarted)} did not start running",
            TimeSpan.FromSeconds(60));
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

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Directory.Packages.props")) && Directory.Exists(Path.Combine(dir.FullName, "samples")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (with Directory.Packages.props and samples/) was not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>The same app with its worker turned off, so jobs stay queued (for cancel tests).</summary>
public sealed class QueueOnlyWebAppFixture : IAsyncLifetime
{
    /// <summary>The image limit of this host, small so the body-size limit is cheap to exceed.</summary>
    public const long MaxImageBytes = 200_000;

    public WebAppFixture App { get; } = new() { ExtraArgs = ["--Stefna:RunWorker=false", $"--Stefna:MaxImageBytes={MaxImageBytes}"] };

    public Task InitializeAsync() => App.InitializeAsync();

    public Task DisposeAsync() => App.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class WebAppCollection : ICollectionFixture<WebAppFixture>
{
    public const string Name = "web app";
}
