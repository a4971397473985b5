using System.Text.RegularExpressions;

namespace Stefna.Sdk;

/// <summary>
/// Keeps server file-system paths out of client-facing messages (API problem details, a job's <c>error.message</c>,
/// health reports): .NET's I/O exceptions name the file they failed on, which tells a client where the data directory
/// is. The SDK redacts the messages it writes; a host redacts what it shows from elsewhere (a plug-in's exception, a
/// health check) with <see cref="Redact"/>. The full exception, path included, stays on the inner exception for the
/// host's own logs.
/// </summary>
public static partial class ServerPaths
{
    /// <summary>What a redacted path is replaced with.</summary>
    public const string Placeholder = "[path]";

    /// <summary>Replaces absolute Unix paths of two or more segments and Windows drive or UNC paths with
    /// <see cref="Placeholder"/>. URLs are left alone (a path inside a URL follows a host, not a space or quote).</summary>
    /// <param name="message">A message meant for a client; may be null or empty.</param>
    /// <returns>The message without server paths (the same instance when it had none).</returns>
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(message))]
    public static string? Redact(string? message) => string.IsNullOrEmpty(message) ? message : PathPattern().Replace(message, Placeholder);

    [GeneratedRegex(@"(?<![\w:/.\\])(?:/(?:[^\s'""/:]+/)+[^\s'""/:,;)]*|[A-Za-z]:\\[^\s'""]*|\\\\[^\s'""]+)", RegexOptions.CultureInvariant)]
    private static partial Regex PathPattern();
}
