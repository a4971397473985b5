namespace Stefna.Sdk.Extensions.AI;

/// <summary>The image media type a URL's file extension suggests (M.E.AI's UriContent needs one).</summary>
internal static class MediaTypes
{
    public static string FromPath(Uri url) => Path.GetExtension(url.AbsolutePath).ToUpperInvariant() switch
    {
        ".JPG" or ".JPEG" => "image/jpeg",
        ".WEBP" => "image/webp",
        ".GIF" => "image/gif",
        _ => "image/png",
    };
}
