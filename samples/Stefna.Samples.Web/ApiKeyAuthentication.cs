using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Stefna.Samples.Web;

/// <summary>Options of the development API-key scheme.</summary>
internal sealed class ApiKeyAuthenticationOptions : AuthenticationSchemeOptions
{
    /// <summary>The header carrying the key.</summary>
    public string HeaderName { get; set; } = ApiKeyAuthenticationHandler.HeaderName;
}

/// <summary>
/// A development authentication scheme: the <c>X-Api-Key</c> header names a key from <c>Stefna:ApiKeys</c>, whose
/// value is the user id every SDK call is scoped to. A missing or unknown key is answered with a 401 ProblemDetails.
/// It is a real <see cref="AuthenticationHandler{TOptions}"/>, so <c>RequireAuthorization()</c> works as usual and a
/// production host swaps it for JWT bearer or cookies without touching the endpoints.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<ApiKeyAuthenticationOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IOptionsMonitor<WebOptions> web,
    IProblemDetailsService problems)
    : AuthenticationHandler<ApiKeyAuthenticationOptions>(options, logger, encoder)
{
    /// <summary>The scheme's name.</summary>
    public const string SchemeName = "ApiKey";

    /// <summary>The default header.</summary>
    public const string HeaderName = "X-Api-Key";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(Options.HeaderName, out var values) || string.IsNullOrWhiteSpace(values.ToString()))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var userId = FindUser(values.ToString().Trim(), web.CurrentValue.ApiKeys);
        if (userId is null)
        {
            return Task.FromResult(AuthenticateResult.Fail("Unknown API key."));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, userId), new Claim(ClaimTypes.Name, userId)], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var failed = (await HandleAuthenticateOnceSafeAsync().ConfigureAwait(false)).Failure is not null;
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = $"{SchemeName} header=\"{Options.HeaderName}\"";
        var problem = new ProblemDetails
        {
            Status = StatusCodes.Status401Unauthorized,
            Title = "Unauthorized",
            Detail = failed
                ? $"The {Options.HeaderName} header does not name a known API key."
                : $"Send an API key in the {Options.HeaderName} header (see Stefna:ApiKeys in appsettings.json).",
            Extensions = { ["code"] = failed ? "unknown_api_key" : "missing_api_key" },
        };

        // A client that accepts only text/event-stream (an event stream's reader) gets the problem as JSON all the same:
        // the problem details service writes nothing for such an Accept header, and WriteAsync would throw (a 500).
        if (!await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = Context, ProblemDetails = problem }).ConfigureAwait(false))
        {
            await Response.WriteAsJsonAsync(problem, (System.Text.Json.JsonSerializerOptions?)null, "application/problem+json").ConfigureAwait(false);
        }
    }

    // Compares against every key in constant time per key, so response timing does not reveal a key's prefix.
    private static string? FindUser(string presented, IReadOnlyDictionary<string, string> keys)
    {
        var presentedBytes = Encoding.UTF8.GetBytes(presented);
        string? match = null;
        foreach (var (key, user) in keys)
        {
            if (CryptographicOperations.FixedTimeEquals(presentedBytes, Encoding.UTF8.GetBytes(key)) && !string.IsNullOrWhiteSpace(user))
            {
                match = user;
            }
        }

        return match;
    }
}

/// <summary>Reads the user id the API-key scheme put on the principal.</summary>
internal static class UserExtensions
{
    /// <summary>The authenticated user's id.</summary>
    /// <param name="user">The principal.</param>
    /// <returns>The id.</returns>
    public static string UserId(this ClaimsPrincipal user) =>
        user.FindFirstValue(ClaimTypes.NameIdentifier) ?? throw new InvalidOperationException("The request is not authenticated.");
}
