using Stefna.Sdk;

namespace Stefna.TestUtils;

/// <summary>Shorthands for tests that claim or renew one lease through the batch store calls.</summary>
public static class LeaseTasks
{
    /// <summary>The first lease of a batch claim, or <see langword="null"/> when it claimed nothing.</summary>
    /// <param name="claim">A claim call.</param>
    /// <returns>The first lease.</returns>
    public static async Task<JobLease?> FirstLeaseAsync(this Task<IReadOnlyList<JobLease>> claim) =>
        (await claim.ConfigureAwait(false)).FirstOrDefault();

    /// <summary>Whether a batch renewal kept every lease (reported none lost).</summary>
    /// <param name="renewal">A renewal call.</param>
    /// <returns><see langword="true"/> when no lease was lost.</returns>
    public static async Task<bool> HeldAsync(this Task<IReadOnlyList<JobLease>> renewal) =>
        (await renewal.ConfigureAwait(false)).Count == 0;
}
