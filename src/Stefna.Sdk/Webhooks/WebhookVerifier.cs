using System.Globalization;
using System.Security.Cryptography;

namespace Stefna.Sdk.Webhooks;

/// <summary>Verifies webhooks on the receiving side, per the Standard Webhooks specification: the
/// <c>webhook-signature</c> header must hold at least one <c>v1</c> signature made with one of the given secrets over
/// <c>{webhook-id}.{webhook-timestamp}.{body}</c>, and the timestamp must be within the tolerance of now (replay
/// protection). Give it the raw body bytes exactly as received, before any JSON parsing.</summary>
/// <example><code>
/// var verifier = new WebhookVerifier([builder.Configuration["Webhooks:Secret"]!]);
/// app.MapPost("/hook", async (HttpRequest request) =>
/// {
///     using var buffer = new MemoryStream();
///     await request.Body.CopyToAsync(buffer);
///     if (!verifier.TryVerify(name => request.Headers[name].ToString(), buffer.ToArray(), out var problem))
///         return Results.Unauthorized();
///     // Deduplicate on request.Headers["webhook-id"]: delivery is at least once.
///     return Results.Ok();
/// });
/// </code></example>
public sealed class WebhookVerifier
{
    private readonly byte[][] _keys;
    private readonly TimeProvider _time;

    /// <summary>The default tolerance between the message's timestamp and now: 5 minutes.</summary>
    public static readonly TimeSpan DefaultTolerance = TimeSpan.FromMinutes(5);

    /// <summary>Creates a verifier.</summary>
    /// <param name="secrets">The accepted secrets (<c>whsec_…</c>); during a rotation, both the new and the old one.</param>
    /// <param name="timeProvider">The clock; the system clock when <see langword="null"/>.</param>
    /// <param name="tolerance">How far the timestamp may be from now, either way; <see cref="DefaultTolerance"/> when <see langword="null"/>.</param>
    public WebhookVerifier(IEnumerable<string> secrets, TimeProvider? timeProvider = null, TimeSpan? tolerance = null)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        _keys = [.. secrets.Select(WebhookSignature.DecodeSecret)];
        if (_keys.Length == 0)
        {
            throw new ArgumentException("At least one secret is needed.", nameof(secrets));
        }

        _time = timeProvider ?? TimeProvider.System;
        Tolerance = tolerance ?? DefaultTolerance;
        ArgumentOutOfRangeException.ThrowIfLessThan(Tolerance, TimeSpan.Zero, nameof(tolerance));
    }

    /// <summary>How far the timestamp may be from now.</summary>
    public TimeSpan Tolerance { get; }

    /// <summary>Verifies a message.</summary>
    /// <param name="header">Reads a request header by name (<c>webhook-id</c>, <c>webhook-timestamp</c>, <c>webhook-signature</c>); null or empty when absent.</param>
    /// <param name="body">The raw body.</param>
    /// <param name="problem">Why it failed, for logs; <see langword="null"/> when it passed. Never contains a secret.</param>
    /// <returns><see langword="true"/> when the message is authentic and fresh.</returns>
    public bool TryVerify(Func<string, string?> header, ReadOnlySpan<byte> body, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(header);
        return TryVerify(header(WebhookSignature.IdHeader), header(WebhookSignature.TimestampHeader), header(WebhookSignature.SignatureHeader), body, out problem);
    }

    /// <summary>Verifies a message from its three header values and its raw body.</summary>
    /// <param name="id">The <c>webhook-id</c> header.</param>
    /// <param name="timestamp">The <c>webhook-timestamp</c> header.</param>
    /// <param name="signature">The <c>webhook-signature</c> header.</param>
    /// <param name="body">The raw body.</param>
    /// <param name="problem">Why it failed; <see langword="null"/> when it passed.</param>
    /// <returns><see langword="true"/> when the message is authentic and fresh.</returns>
    public bool TryVerify(string? id, string? timestamp, string? signature, ReadOnlySpan<byte> body, out string? problem)
    {
        if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(timestamp) || string.IsNullOrEmpty(signature))
        {
            problem = "missing webhook-id, webhook-timestamp or webhook-signature header";
            return false;
        }

        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds > 253402300799)
        {
            problem = "webhook-timestamp is not a Unix time in seconds";
            return false;
        }

        var now = _time.GetUtcNow();
        var sent = DateTimeOffset.FromUnixTimeSeconds(seconds);
        if (sent < now - Tolerance)
        {
            problem = "webhook-timestamp is too old";
            return false;
        }

        if (sent > now + Tolerance)
        {
            problem = "webhook-timestamp is too new";
            return false;
        }

        foreach (var key in _keys)
        {
            var expected = WebhookSignature.Hash(key, id, timestamp, body);
            foreach (var part in signature.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var comma = part.IndexOf(',', StringComparison.Ordinal);
                if (comma < 0 || part.AsSpan(0, comma) is not "v1")
                {
                    continue;
                }

                var given = new byte[32];
                if (Convert.TryFromBase64String(part[(comma + 1)..], given, out var length) && length == expected.Length
                    && CryptographicOperations.FixedTimeEquals(given.AsSpan(0, length), expected))
                {
                    problem = null;
                    return true;
                }
            }
        }

        problem = "no signature matches";
        return false;
    }

    /// <summary>Verifies a message and throws when it does not pass.</summary>
    /// <param name="header">Reads a request header by name.</param>
    /// <param name="body">The raw body.</param>
    /// <exception cref="WebhookVerificationException">The message is not authentic or not fresh.</exception>
    public void Verify(Func<string, string?> header, ReadOnlySpan<byte> body)
    {
        if (!TryVerify(header, body, out var problem))
        {
            throw new WebhookVerificationException(problem!);
        }
    }
}

/// <summary>A webhook that failed verification.</summary>
public sealed class WebhookVerificationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public WebhookVerificationException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">Why verification failed.</param>
    public WebhookVerificationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">Why verification failed.</param>
    /// <param name="innerException">The cause.</param>
    public WebhookVerificationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
