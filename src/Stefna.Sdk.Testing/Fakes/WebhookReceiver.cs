using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Stefna.Sdk.Webhooks;

namespace Stefna.Sdk.Testing.Fakes;

/// <summary>A webhook receiver on 127.0.0.1, as the Standard Webhooks specification describes one: it verifies every
/// request's signature and timestamp with <see cref="WebhookVerifier"/> (answering 401 when they do not pass) and
/// records every request. <see cref="FailFirstAttempts"/> makes it answer 500 to the first attempts of each message id,
/// to prove retries.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly WebhookVerifier _verifier;
    private readonly ConcurrentQueue<WebhookDelivery> _deliveries = new();
    private readonly ConcurrentDictionary<string, int> _attempts = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _arrived = new(0);

    private WebhookReceiver(WebApplication app, WebhookVerifier verifier)
    {
        _app = app;
        _verifier = verifier;
    }

    /// <summary>The URL to give as a webhook URL (<c>http://127.0.0.1:PORT/hook</c>).</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>How many attempts of each message id are answered 500 before the receiver accepts it. Default 0.</summary>
    public int FailFirstAttempts { get; set; }

    /// <summary>Every request received, in order of arrival.</summary>
    public IReadOnlyList<WebhookDelivery> Deliveries => [.. _deliveries];

    /// <summary>Starts a receiver.</summary>
    /// <param name="secrets">The secrets it accepts (<c>whsec_…</c>).</param>
    /// <param name="timeProvider">Its clock for the timestamp check; the system clock when <see langword="null"/>.</param>
    /// <returns>The running receiver.</returns>
    public static async Task<WebhookReceiver> StartAsync(IEnumerable<string> secrets, TimeProvider? timeProvider = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, new WebhookVerifier(secrets, timeProvider));
        app.MapPost("/hook", receiver.ReceiveAsync);
        await app.StartAsync().ConfigureAwait(false);
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        receiver.Url = new Uri(address, "/hook");
        return receiver;
    }

    /// <summary>Waits until the deliveries received satisfy <paramref name="condition"/>.</summary>
    /// <param name="condition">Checked on arrival of each request (and once at the start).</param>
    /// <param name="cancellationToken">Bounds the wait.</param>
    /// <returns>The deliveries at that moment.</returns>
    public async Task<IReadOnlyList<WebhookDelivery>> WaitUntilAsync(Func<IReadOnlyList<WebhookDelivery>, bool> condition, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(condition);
        while (true)
        {
            var now = Deliveries;
            if (condition(now))
            {
                return now;
            }

            await _arrived.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _arrived.Dispose();
    }

    private async Task<IResult> ReceiveAsync(HttpRequest request)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer).ConfigureAwait(false);
        var body = buffer.ToArray();
        string? Header(string name) => request.Headers.TryGetValue(name, out var value) ? value.ToString() : null;
        var verified = _verifier.TryVerify(Header, body, out var problem);
        var id = Header(WebhookSignature.IdHeader);
        string? eventType = null;
        Guid? jobId = null;
        try
        {
            using var json = JsonDocument.Parse(body);
            eventType = json.RootElement.GetProperty("type").GetString();
            jobId = json.RootElement.GetProperty("data").GetProperty("id").GetGuid();
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            problem ??= "the body is not a Stefna event";
        }

        int status;
        if (!verified)
        {
            status = StatusCodes.Status401Unauthorized;
        }
        else
        {
            var attempt = _attempts.AddOrUpdate(id!, 1, (_, n) => n + 1);
            status = attempt <= FailFirstAttempts ? StatusCodes.Status500InternalServerError : StatusCodes.Status200OK;
        }

        _deliveries.Enqueue(new WebhookDelivery(id, Header(WebhookSignature.TimestampHeader), Header(WebhookSignature.SignatureHeader), System.Text.Encoding.UTF8.GetString(body), verified, problem, status, eventType, jobId));
        _arrived.Release();
        return Results.StatusCode(status);
    }
}

/// <summary>One request a <see cref="WebhookReceiver"/> received.</summary>
/// <param name="Id">The <c>webhook-id</c> header.</param>
/// <param name="Timestamp">The <c>webhook-timestamp</c> header.</param>
/// <param name="Signature">The <c>webhook-signature</c> header.</param>
/// <param name="Body">The body.</param>
/// <param name="Verified">Whether the signature and timestamp passed.</param>
/// <param name="Problem">Why verification (or reading the event) failed.</param>
/// <param name="Answer">The status code answered.</param>
/// <param name="EventType">The event's <c>type</c>.</param>
/// <param name="JobId">The event's <c>data.id</c>.</param>
public sealed record WebhookDelivery(string? Id, string? Timestamp, string? Signature, string Body, bool Verified, string? Problem, int Answer, string? EventType, Guid? JobId);
