using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using Stefna.Sdk;

namespace Stefna.Samples.Web;

/// <summary>
/// Who may read a file under <c>/media/</c> (the local-file storage's images): its owner only. The API answers each
/// job's <c>imageUrl</c> and <c>sourceImageUrl</c> signed for the user who asked: <c>/media/…?token=…</c>, where the
/// token is the user id and the path protected by ASP.NET Core Data Protection with an expiry
/// (<see cref="WebOptions.MediaUrlLifetime"/>), so an <c>&lt;img&gt;</c> can show it without a header. A request without
/// a token may instead carry the owner's API key (<c>X-Api-Key</c>): the file's job is looked up for that user. Anything
/// else is 404 (a forged, expired or other path's token: 403), so another user's photo is never served.
/// </summary>
internal sealed partial class MediaAccess
{
    /// <summary>The URL prefix of the media files.</summary>
    public const string Prefix = "/media/";

    /// <summary>The query parameter holding the token.</summary>
    public const string TokenParameter = "token";

    private readonly ITimeLimitedDataProtector _protector;
    private readonly TimeProvider _time;
    private readonly IOptionsMonitor<WebOptions> _options;

    public MediaAccess(IDataProtectionProvider protection, TimeProvider time, IOptionsMonitor<WebOptions> options)
    {
        _protector = protection.CreateProtector("Stefna.Samples.Web.Media.v1").ToTimeLimitedDataProtector();
        _time = time;
        _options = options;
    }

    /// <summary>The URL signed for <paramref name="userId"/>, valid for <see cref="WebOptions.MediaUrlLifetime"/>; other
    /// URLs (Cloudinary's https ones) as they are.</summary>
    public string? Sign(string? url, string userId) =>
        Sign(url, userId, _time.GetUtcNow() + _options.CurrentValue.MediaUrlLifetime);

    /// <summary>The URL signed for <paramref name="userId"/> until <paramref name="expires"/>.</summary>
    public string? Sign(string? url, string userId, DateTimeOffset expires)
    {
        if (url is null || !url.StartsWith(Prefix, StringComparison.Ordinal) || url.Contains('?', StringComparison.Ordinal))
        {
            return url;
        }

        var token = _protector.Protect(userId + "\n" + Uri.UnescapeDataString(url[Prefix.Length..]), expires);
        return url + "?" + TokenParameter + "=" + token;
    }

    /// <summary>Whether the request may read the file at <paramref name="relativePath"/> (below <c>/media/</c>):
    /// 200 when it may, else the status to answer.</summary>
    public async Task<int> AuthorizeAsync(HttpContext context, string relativePath)
    {
        if (context.Request.Query.TryGetValue(TokenParameter, out var tokens))
        {
            try
            {
                var payload = _protector.Unprotect(tokens.ToString());
                var separator = payload.IndexOf('\n', StringComparison.Ordinal);
                return separator > 0 && string.Equals(payload[(separator + 1)..], relativePath, StringComparison.Ordinal)
                    ? StatusCodes.Status200OK
                    : StatusCodes.Status403Forbidden;
            }
            catch (CryptographicException)
            {
                return StatusCodes.Status403Forbidden; // forged, altered or expired
            }
        }

        // No token: the owner's API key.
        var authenticated = await context.AuthenticateAsync(ApiKeyAuthenticationHandler.SchemeName).ConfigureAwait(false);
        if (!authenticated.Succeeded || authenticated.Principal.FindFirstValue(ClaimTypes.NameIdentifier) is not { } userId)
        {
            return StatusCodes.Status404NotFound;
        }

        var match = FilePath().Match(relativePath);
        if (!match.Success || !Guid.TryParseExact(match.Groups["id"].Value, "N", out var jobId))
        {
            return StatusCodes.Status404NotFound;
        }

        var pipeline = context.RequestServices.GetRequiredService<IGenerationPipeline>();
        var job = await pipeline.GetStatusAsync(match.Groups["type"].Value, jobId, userId, context.RequestAborted).ConfigureAwait(false);
        return job is null ? StatusCodes.Status404NotFound : StatusCodes.Status200OK;
    }

    // The local-file storage's layout: sources/{type}/{job id}.{ext} and results/{type}/{job id}-{attempt}.{ext}.
    [GeneratedRegex(@"^(?:sources|results)/(?<type>[a-z0-9][a-z0-9-]*)/(?<id>[0-9a-f]{32})(?:-[0-9]+)?\.[a-z]+$")]
    private static partial Regex FilePath();
}
