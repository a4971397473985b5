namespace Stefna.Samples.Console;

/// <summary>Where things live, from the global options and the environment.</summary>
internal sealed record CliSettings
{
    public string DataDirectory { get; init; } = "./stefna-data";

    public string? Postgres { get; init; }

    public string? Cloudinary { get; init; }

    public string? CloudinaryApiBase { get; init; }

    public string Provider { get; init; } = "offline";

    public string? ProviderBase { get; init; }

    public string? Model { get; init; }

    public bool AllowPrivateUrls { get; init; }

    public bool Verbose { get; init; }
}
