namespace Stefna.Sdk.Testing.Fakes;

/// <summary>One request the <see cref="CloudinaryEmulator"/> received.</summary>
/// <param name="Operation"><c>upload</c>, <c>destroy</c> or <c>download</c>.</param>
/// <param name="Fields">The form fields (not the file part).</param>
/// <param name="File">The uploaded bytes, or for a remote upload the bytes fetched from the URL.</param>
/// <param name="RemoteUrl">The URL given as <c>file</c>, for uploads by URL.</param>
/// <param name="SignatureValid">Whether the signature matched the emulator's own computation.</param>
/// <param name="StringToSign">The string the emulator signed (without the secret).</param>
/// <param name="StatusCode">The status the emulator answered.</param>
/// <param name="ReceivedAt">When it arrived.</param>
public sealed record CloudinaryEmulatorRequest(
    string Operation,
    IReadOnlyDictionary<string, string> Fields,
    byte[]? File,
    string? RemoteUrl,
    bool SignatureValid,
    string StringToSign,
    int StatusCode,
    DateTimeOffset ReceivedAt)
{
    /// <summary>The <c>X-RateLimit-Reset</c> value the emulator answered with, for a rate-limited request.</summary>
    public string? RateLimitReset { get; init; }
}

/// <summary>An asset the emulator holds.</summary>
/// <param name="PublicId">The public id, folder included.</param>
/// <param name="Bytes">The content.</param>
/// <param name="Format">The format.</param>
/// <param name="Version">The version.</param>
/// <param name="Tags">The tags.</param>
/// <param name="Context">The parsed context.</param>
public sealed record CloudinaryEmulatorAsset(string PublicId, byte[] Bytes, string Format, long Version, IReadOnlyList<string> Tags, IReadOnlyDictionary<string, string> Context);
