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

    /// <summary>Form overhead allowed on top of <see cref="Stefna.Sdk.Configuration.StefnaOptions.MaxImageBytes"/>.</summary>
    public long FormOverheadBytes { get; set; } = 64 * 1024;
}
