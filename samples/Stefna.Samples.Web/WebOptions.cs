namespace Stefna.Samples.Web;

/// <summary>The web sample's own settings, bound from the <c>Stefna</c> configuration section (next to the SDK's
/// <see cref="Stefna.Sdk.Configuration.StefnaOptions"/>, which bind from the same section).</summary>
internal sealed class WebOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Stefna";

    /// <summary>Folder of the embedded default: <c>stefna.db</c> (SQLite) and <c>images/</c>, served under <c>/media/</c>.</summary>
    public string DataDirectory { get; set; } = "./stefna-web-data";

    /// <summary>Development API keys: key → user id. Replace with real authentication in production.</summary>
    public Dictionary<string, string> ApiKeys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The job store: <c>Sqlite</c> (default, <c>stefna.db</c> in the data folder unless
    /// <c>Stefna:Sqlite:DatabasePath</c> says otherwise) or <c>Postgres</c> (<c>Stefna:Postgres</c>).</summary>
    public string Store { get; set; } = "Sqlite";

    /// <summary>Where images go: <c>LocalFiles</c> (default, <c>images/</c> in the data folder, served under <c>/media/</c>)
    /// or <c>Cloudinary</c> (<c>Stefna:Cloudinary</c> or <c>CLOUDINARY_URL</c>).</summary>
    public string Storage { get; set; } = "LocalFiles";

    /// <summary>The image provider: <c>Offline</c> (default, no network, no keys), <c>AimlApi</c> (<c>Stefna:AimlApi</c>)
    /// or <c>OpenAI</c> (<c>Stefna:OpenAI</c>).</summary>
    public string Provider { get; set; } = "Offline";

    /// <summary>How long the signed <c>/media/</c> URLs the API answers stay valid (<see cref="MediaAccess"/>). Default 1 hour.</summary>
    public TimeSpan MediaUrlLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Form overhead allowed on top of <see cref="Stefna.Sdk.Configuration.StefnaOptions.MaxImageBytes"/>.</summary>
    public long FormOverheadBytes { get; set; } = 64 * 1024;

    /// <summary>How long the event stream of a job (<c>GET /api/generations/{type}/{id}/events</c>) stays silent before
    /// it sends a heartbeat comment, so proxies with idle timeouts keep it open. Default 15 s.</summary>
    public TimeSpan EventStreamHeartbeat { get; set; } = TimeSpan.FromSeconds(15);
}
