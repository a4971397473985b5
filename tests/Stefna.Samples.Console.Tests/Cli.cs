using System.Text.Json;
using Microsoft.Data.Sqlite;
using SkiaSharp;
using Stefna.TestUtils;

namespace Stefna.Samples.Console.Tests;

/// <summary>Runs the CLI in-process against a fresh data folder and captures its output.</summary>
internal sealed class Cli : IDisposable
{
    private readonly TempDirectory _dir = new();

    public string DataDirectory => _dir.Path;

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Portrait => Path.Combine(RepoRoot, "samples", "images", "portrait.png");

    public async Task<CliResult> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await CliApp.RunAsync([.. args, "--data", DataDirectory], stdout, stderr, interactive: false, CancellationToken.None);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }

    public async Task<JsonElement> JsonAsync(params string[] args)
    {
        var result = await RunAsync([.. args, "--json"]);
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Stderr}");
        return JsonDocument.Parse(result.Stdout).RootElement;
    }

    /// <summary>Rows in every type table (0 when the database was never created).</summary>
    public long CountRows(params string[] tables) => SqliteRows.Count(DataDirectory, tables);

    public (string Status, string? ImageUrl) ReadRow(string table, string id)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(DataDirectory, "stefna.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT status, image_url FROM {table} WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read(), $"no row {id} in {table}");
        return (reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1));
    }

    public IReadOnlyList<string> ImageFiles()
    {
        var images = Path.Combine(DataDirectory, "images");
        return Directory.Exists(images) ? Directory.GetFiles(images, "*", SearchOption.AllDirectories) : [];
    }

    /// <summary>Mean absolute per-channel difference of two images of the same size, 0..255.</summary>
    public static double MeanDifference(string pathA, string pathB)
    {
        using var a = SKBitmap.Decode(pathA);
        using var b = SKBitmap.Decode(pathB);
        Assert.NotNull(a);
        Assert.NotNull(b);
        Assert.Equal(a.Width, b.Width);
        Assert.Equal(a.Height, b.Height);
        double sum = 0;
        for (var y = 0; y < a.Height; y++)
        {
            for (var x = 0; x < a.Width; x++)
            {
                var p = a.GetPixel(x, y);
                var q = b.GetPixel(x, y);
                sum += Math.Abs(p.Red - q.Red) + Math.Abs(p.Green - q.Green) + Math.Abs(p.Blue - q.Blue);
            }
        }

        return sum / (a.Width * a.Height * 3.0);
    }

    // No SqliteConnection.ClearAllPools() here: it clears every SQLite pool in the process and can dispose the handle of
    // a connection another test is opening at that moment. The CLI's store clears its own file's pool when disposed.
    public void Dispose()
    {
        _dir.Dispose();
    }

    private static string FindRepoRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Stefna.sln")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("Stefna.sln not found above the test folder.");
    }
}

internal sealed record CliResult(int ExitCode, string Stdout, string Stderr);
