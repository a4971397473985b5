using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Stefna.Sdk.Testing.Fakes;

/// <summary>
/// A loopback Cloudinary: a real HTTP server on 127.0.0.1 speaking the documented Upload API for one cloud.
/// <c>POST /v1_1/{cloud}/image/upload</c> (multipart; <c>file</c> as bytes or an http URL it fetches, loopback only),
/// <c>POST /v1_1/{cloud}/image/destroy</c>, and delivery at <c>GET /{cloud}/image/upload/…</c>. It recomputes every
/// signature with the secret it knows (its own implementation of the documented rule, "signature version 2" as the
/// official SDKs sign: <c>&amp;</c> inside a value counts as <c>%26</c>; independent of the SDK's code) and answers a
/// wrong one with 401 <c>{"error":{"message":"Invalid Signature …"}}</c>; checks the api_key and the timestamp's
/// freshness; checks the <c>s--…--</c> signature of a signed delivery URL (8 characters of SHA-1 or SHA-256, or 32 of
/// SHA-256) and answers a wrong one with 401; records every request; and can be told to answer 429 with a reset header
/// N times (or on a share of calls at random), the reset given as it is or as an HTTP date computed when it answers;
/// counts uploads, destroy calls, assets destroyed and 429s. Its clock is a
/// <see cref="TimeProvider"/>, so a test can run it on the same fake clock as the client.
/// </summary>
/// <remarks>
/// <para>Part of the conformance kit so that hosts, samples and asset-storage tests can exercise Cloudinary with no
/// account and no network. It needs the ASP.NET Core shared framework, which is why <c>Stefna.Sdk.Testing</c> carries a
/// framework reference to <c>Microsoft.AspNetCore.App</c>. Point the SDK at it like this:</para>
/// <code>
/// await using var cloudinary = await CloudinaryEmulator.StartAsync("demo", "key", "secret");
/// services.AddStefna()
///     .UseCloudinary(o =>
///     {
///         o.ApplyUrl(cloudinary.CloudinaryUrl);
///         o.ApiBaseUrl = cloudinary.BaseUrl;
///         o.DeliveryBaseUrl = cloudinary.BaseUrl;
///     });
/// </code>
/// <para>Assets live in memory for the emulator's lifetime; dispose it to stop the server.</para>
/// </remarks>
public sealed partial class CloudinaryEmulator : IAsyncDisposable
{
    private static readonly HashSet<string> Unsigned = new(StringComparer.Ordinal) { "file", "cloud_name", "resource_type", "api_key", "signature" };
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, CloudinaryEmulatorAsset> _assets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte[]> _remoteFiles = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<CloudinaryEmulatorRequest> _requests = new();
    private readonly Lock _gate = new();
    private int _rateLimitsLeft;
    private string _rateLimitReset = "1";
    private TimeSpan? _rateLimitResetAfter;
    private int _rateLimitStatus = 429;
    private int _serverErrorsLeft;
    private int _rateLimitPercent;
    private string _rateLimitPercentReset = "1";
    private long _version = 1_700_000_000;
    private int _uploads;
    private int _destroyCalls;
    private int _destroyed;
    private int _rateLimited;

    private readonly TimeProvider _time;

    private CloudinaryEmulator(WebApplication app, string cloudName, string apiKey, string apiSecret, TimeProvider time)
    {
        _app = app;
        _time = time;
        CloudName = cloudName;
        ApiKey = apiKey;
        ApiSecret = apiSecret;
    }

    /// <summary>The cloud the emulator serves.</summary>
    public string CloudName { get; }

    /// <summary>The API key it accepts.</summary>
    public string ApiKey { get; }

    /// <summary>The secret it signs with.</summary>
    public string ApiSecret { get; }

    /// <summary>The base URL, e.g. <c>http://127.0.0.1:41234</c>, serving both the API and delivery.</summary>
    public string BaseUrl { get; private set; } = string.Empty;

    /// <summary>A <c>CLOUDINARY_URL</c> for this emulator's account.</summary>
    public string CloudinaryUrl => $"cloudinary://{ApiKey}:{ApiSecret}@{CloudName}";

    /// <summary>Every request received, in order.</summary>
    public IReadOnlyList<CloudinaryEmulatorRequest> Requests => [.. _requests];

    /// <summary>The assets held, by public id.</summary>
    public IReadOnlyDictionary<string, CloudinaryEmulatorAsset> Assets => _assets;

    /// <summary>Whether the <c>folder</c> upload parameter prefixes the public id (<c>{folder}/{public_id}</c>), as on an
    /// account in fixed folder mode; <see langword="true"/> by default. Set <see langword="false"/> to emulate an account
    /// where the folder only places the asset (dynamic folder mode's asset folder) and the public id stays as given.</summary>
    public bool FolderPrefixesPublicId { get; set; } = true;

    /// <summary>Successful uploads so far (each one stored or replaced an asset).</summary>
    public int UploadCount => Volatile.Read(ref _uploads);

    /// <summary>Authenticated <c>destroy</c> calls so far, whether the asset was there or not.</summary>
    public int DestroyCallCount => Volatile.Read(ref _destroyCalls);

    /// <summary><c>destroy</c> calls that removed an asset (answered <c>ok</c>, not <c>not found</c>).</summary>
    public int DestroyedCount => Volatile.Read(ref _destroyed);

    /// <summary>API calls answered with a rate-limit error so far.</summary>
    public int RateLimitedCount => Volatile.Read(ref _rateLimited);

    /// <summary>Starts an emulator on a free loopback port.</summary>
    /// <param name="cloudName">The cloud.</param>
    /// <param name="apiKey">The API key.</param>
    /// <param name="apiSecret">The secret.</param>
    /// <param name="time">Its clock (when requests arrive, timestamp freshness, HTTP-date resets); the system clock
    /// when <see langword="null"/>.</param>
    /// <returns>The running emulator.</returns>
    public static async Task<CloudinaryEmulator> StartAsync(string cloudName = "demo", string apiKey = "key", string apiSecret = "secret", TimeProvider? time = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddHttpClient();
        var app = builder.Build();
        var emulator = new CloudinaryEmulator(app, cloudName, apiKey, apiSecret, time ?? TimeProvider.System);
        app.MapPost("/v1_1/{cloud}/image/upload", (HttpContext context, string cloud) => emulator.UploadAsync(context, cloud));
        app.MapPost("/v1_1/{cloud}/image/destroy", (HttpContext context, string cloud) => emulator.DestroyAsync(context, cloud));
        app.MapGet("/{cloud}/image/upload/{**path}", (HttpContext context, string cloud, string path) => emulator.Deliver(context, cloud, path));
        app.MapGet("/_remote/{name}", (string name) => emulator._remoteFiles.TryGetValue(name, out var bytes) ? Results.Bytes(bytes, "application/octet-stream") : Results.NotFound());
        await app.StartAsync().ConfigureAwait(false);
        emulator.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
        return emulator;
    }

    /// <summary>Serves bytes at a URL on the emulator, for uploads by remote URL.</summary>
    /// <param name="name">A file name.</param>
    /// <param name="bytes">The content.</param>
    /// <returns>The URL.</returns>
    public Uri AddRemoteFile(string name, byte[] bytes)
    {
        _remoteFiles[name] = bytes;
        return new Uri($"{BaseUrl}/_remote/{Uri.EscapeDataString(name)}");
    }

    /// <summary>Answers the next <paramref name="count"/> API calls with a rate-limit error.</summary>
    /// <param name="count">How many.</param>
    /// <param name="reset">The <c>X-RateLimit-Reset</c> value (seconds to wait, or an HTTP date).</param>
    /// <param name="status">420 or 429.</param>
    public void RateLimitNext(int count, string reset = "1", int status = 429)
    {
        lock (_gate)
        {
            _rateLimitsLeft = count;
            _rateLimitReset = reset;
            _rateLimitResetAfter = null;
            _rateLimitStatus = status;
        }
    }

    /// <summary>Answers the next <paramref name="count"/> API calls with a rate-limit error whose
    /// <c>X-RateLimit-Reset</c> is an HTTP date (whole seconds, Cloudinary's documented form) <paramref name="resetAfter"/>
    /// after the moment it answers, on its clock. The value sent is in <see cref="CloudinaryEmulatorRequest.RateLimitReset"/>.</summary>
    /// <param name="count">How many.</param>
    /// <param name="resetAfter">How long after the answer the limit resets (the date's fraction of a second is cut off).</param>
    /// <param name="status">420 or 429.</param>
    public void RateLimitNextUntil(int count, TimeSpan resetAfter, int status = 429)
    {
        lock (_gate)
        {
            _rateLimitsLeft = count;
            _rateLimitResetAfter = resetAfter;
            _rateLimitStatus = status;
        }
    }

    /// <summary>From now on answers about <paramref name="percent"/> % of API calls (at random) with 429 and Cloudinary's
    /// rate-limit headers (<c>X-RateLimit-Limit</c>, <c>X-RateLimit-Remaining: 0</c>, <c>X-RateLimit-Reset</c>), as a
    /// busy account sees; 0 stops it. <see cref="RateLimitNext"/> and <see cref="RateLimitNextUntil"/> come first.</summary>
    /// <param name="percent">The share of calls, 0 to 100.</param>
    /// <param name="reset">The <c>X-RateLimit-Reset</c> value (seconds to wait, or an HTTP date).</param>
    public void RateLimitRandomly(int percent, string reset = "1")
    {
        ArgumentOutOfRangeException.ThrowIfNegative(percent);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percent, 100);
        lock (_gate)
        {
            _rateLimitPercent = percent;
            _rateLimitPercentReset = reset;
        }
    }

    /// <summary>Answers the next <paramref name="count"/> API calls with 503.</summary>
    /// <param name="count">How many.</param>
    public void FailNext(int count)
    {
        lock (_gate)
        {
            _serverErrorsLeft = count;
        }
    }

    /// <summary>The signature the emulator expects for the given fields (its own implementation of the documented rule).</summary>
    /// <param name="fields">The form fields.</param>
    /// <param name="stringToSign">The string signed, without the secret.</param>
    /// <returns>The hex signature.</returns>
    public string ExpectedSignature(IReadOnlyDictionary<string, string> fields, out string stringToSign)
    {
        // Signature version 2: an '&' inside a pair is written %26, so a value cannot pose as further parameters.
        var parts = fields
            .Where(f => !Unsigned.Contains(f.Key) && f.Value.Length > 0)
            .OrderBy(f => f.Key, StringComparer.Ordinal)
            .Select(f => $"{f.Key}={f.Value}".Replace("&", "%26", StringComparison.Ordinal));
        stringToSign = string.Join("&", parts);
        var data = Encoding.UTF8.GetBytes(stringToSign + ApiSecret);
        var sha256 = fields.TryGetValue("signature_algorithm", out var algorithm) && algorithm == "sha256";
        return Convert.ToHexStringLower(sha256 ? SHA256.HashData(data) : SHA1.HashData(data));
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Parses <c>key=value|key2=value2</c> with backslash escapes.</summary>
    /// <param name="context">The context string.</param>
    /// <returns>The pairs.</returns>
    public static IReadOnlyDictionary<string, string> ParseContext(string context)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var key = new StringBuilder();
        var value = new StringBuilder();
        var inValue = false;
        for (var i = 0; i < context.Length; i++)
        {
            var c = context[i];
            if (c == '\\' && i + 1 < context.Length)
            {
                (inValue ? value : key).Append(context[++i]);
            }
            else if (c == '=' && !inValue)
            {
                inValue = true;
            }
            else if (c == '|')
            {
                if (key.Length > 0)
                {
                    result[key.ToString()] = value.ToString();
                }

                key.Clear();
                value.Clear();
                inValue = false;
            }
            else
            {
                (inValue ? value : key).Append(c);
            }
        }

        if (key.Length > 0)
        {
            result[key.ToString()] = value.ToString();
        }

        return result;
    }
}
