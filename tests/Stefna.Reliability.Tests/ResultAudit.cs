namespace Stefna.Reliability.Tests;

/// <summary>
/// Measures the two figures a fault test must keep at 0 from what was actually stored, not from what the test
/// expects: jobs lost (queued but not completed in the store) and results duplicated (result files beyond one per
/// completed job: a second file naming a job, or a file naming no completed job). Result files are named by job id.
/// </summary>
internal static class ResultAudit
{
    /// <summary>Audits one run.</summary>
    /// <param name="queued">The jobs queued that must complete.</param>
    /// <param name="completedInStore">The ids of those jobs the store reports completed.</param>
    /// <param name="resultFiles">Every result file the asset storage holds (paths).</param>
    /// <returns>Jobs lost and results duplicated.</returns>
    public static (int Lost, int Duplicated) Audit(int queued, IReadOnlyCollection<Guid> completedInStore, IReadOnlyCollection<string> resultFiles)
    {
        var completed = completedInStore.Distinct().ToList();
        var names = resultFiles.Select(Path.GetFileName).ToList();
        var perJob = completed.Select(id => names.Count(n => n!.Contains(id.ToString("N"), StringComparison.OrdinalIgnoreCase))).ToList();
        var orphans = names.Count(n => !completed.Exists(id => n!.Contains(id.ToString("N"), StringComparison.OrdinalIgnoreCase)));
        return (queued - completed.Count, perJob.Sum(c => Math.Max(0, c - 1)) + orphans);
    }

    /// <summary>Whether a Cloudinary public id names a stored result: <c>{jobId:N}_result_{attempt}</c>
    /// (<c>CloudinaryAssetStorage.PublicIdFor</c> with an attempt), not a source photo.</summary>
    /// <param name="publicId">The public id an upload carried.</param>
    /// <returns><see langword="true"/> for a result.</returns>
    public static bool IsCloudinaryResult(string? publicId) =>
        publicId is not null && System.Text.RegularExpressions.Regex.IsMatch(publicId, "^[0-9a-f]{32}_result_[0-9]+$");

    /// <summary>Every file under a folder's <c>results</c> subfolder (none when it does not exist).</summary>
    /// <param name="storageRoot">The local asset storage root.</param>
    /// <returns>The paths.</returns>
    public static IReadOnlyList<string> ResultFiles(string storageRoot)
    {
        var results = Path.Combine(storageRoot, "results");
        return Directory.Exists(results) ? Directory.GetFiles(results, "*", SearchOption.AllDirectories) : [];
    }
}

/// <summary>The audit itself can report loss and duplication.</summary>
public sealed class ResultAuditTests
{
    [Fact]
    public void A_missing_completion_is_lost_and_a_second_or_orphan_result_file_is_a_duplicate()
    {
        Guid a = Guid.NewGuid(), b = Guid.NewGuid(), orphan = Guid.NewGuid();
        string File(Guid id) => $"/data/results/custom-prompt/{id:N}.png";

        Assert.Equal((0, 0), ResultAudit.Audit(2, [a, b], [File(a), File(b)]));
        Assert.Equal((1, 0), ResultAudit.Audit(3, [a, b], [File(a), File(b)]));
        Assert.Equal((0, 1), ResultAudit.Audit(2, [a, b], [File(a), File(b), File(a).Replace(".png", "-2.png", StringComparison.Ordinal)]));
        Assert.Equal((0, 1), ResultAudit.Audit(2, [a, b], [File(a), File(b), File(orphan)]));
    }
}
