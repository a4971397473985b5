using System.Text.Json;
using System.Text.Json.Nodes;
using Stefna.TestUtils;

namespace Stefna.Reliability.Tests;

/// <summary>
/// Collects the figures the suite measures: each test appends one JSON line to
/// <c>artifacts/reliability/figures.jsonl</c> at the repository root (jobs run, faults injected, bad inputs tried,
/// jobs lost, results duplicated, and whatever else it measured). docs/reliability.md reports them.
/// </summary>
internal static class Figures
{
    private static readonly Lock Gate = new();

    /// <summary>The figures file.</summary>
    public static string FilePath { get; } = Path.Combine(RepoRoot, "artifacts", "reliability", "figures.jsonl");

    /// <summary>The repository root (the folder holding Stefna.sln).</summary>
    public static string RepoRoot => Path.GetDirectoryName(PostgresServer.FindRepositoryFile("Stefna.sln")
        ?? throw new InvalidOperationException("Stefna.sln not found above the test folder."))!;

    /// <summary>Appends one line: the test's name, the time, and its figures.</summary>
    /// <param name="test">The test.</param>
    /// <param name="figures">Name → number (or text).</param>
    public static void Record(string test, IReadOnlyDictionary<string, object> figures)
    {
        var line = new JsonObject { ["test"] = test, ["at"] = DateTimeOffset.UtcNow.ToString("O") };
        foreach (var (key, value) in figures)
        {
            line[key] = JsonSerializer.SerializeToNode(value);
        }

        lock (Gate)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
            File.AppendAllText(FilePath, line.ToJsonString() + "\n");
        }
    }
}
