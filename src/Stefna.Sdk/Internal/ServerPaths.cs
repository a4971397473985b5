using System.Text.RegularExpressions;

namespace Stefna.Sdk.Internal;

/// <summary>
/// Keeps server file-system paths out of client-facing messages (API problem details, a job's <c>error.message</c>):
/// .NET's I/O exceptions name the file they failed on, which tells a client where the data directory is. The full
/// exception, path included, stays on the inner exception for the host's own logs.
/// </summary>
internal static partial class ServerPaths
{
    public const string Placeholder = "[path]";

    /// <summary>Replaces absolute Unix paths of two or more segments and Windows drive or UNC paths with
    /// <see cref="Placeholder"/>. URLs are left alone (a path inside a URL follows a host, not a space or quote).</summary>
    public static string Redact(string message) => string.IsNullOrEmpty(message) ? message : PathPattern().Replace(message, Placeholder);

    [GeneratedRegex(@"(?<![\w:/.\\])(?:/(?:[^\s'""/:]+/)+[^\s'""/:,;)]*|[A-Za-z]:\\[^\s'""]*|\\\\[^\s'""]+)", RegexOptions.CultureInvariant)]
    private static partial Regex PathPattern();
}
