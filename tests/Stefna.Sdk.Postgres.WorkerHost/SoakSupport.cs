using System.Globalization;
using Stefna.Sdk.Assets;
using Stefna.Sdk.Testing.Fakes;

namespace Stefna.Sdk.Postgres.WorkerHost;

/// <summary>The soak's storage: every job's images go to local files or to Cloudinary, chosen by its id (the same
/// choice in every process), so one run exercises both storages, their clean-up of lost attempts included.</summary>
/// <param name="local">The local-file storage.</param>
/// <param name="cloudinary">The Cloudinary storage.</param>
public sealed class SplitAssetStorage(IAssetStorage local, IAssetStorage cloudinary) : IAssetStorage
{
    /// <summary>Whether a job's images go to Cloudinary (the last byte of its id is odd: random in a version 7 id).</summary>
    /// <param name="jobId">The job.</param>
    /// <returns>Whether Cloudinary holds them.</returns>
    public static bool InCloudinary(Guid jobId) => (jobId.ToByteArray()[15] & 1) == 1;

    /// <inheritdoc />
    public ValueTask<StoredAsset> SaveAsync(AssetWriteRequest request, CancellationToken cancellationToken) =>
        For(request.JobId).SaveAsync(request, cancellationToken);

    /// <inheritdoc />
    public ValueTask<ReadOnlyMemory<byte>> ReadAsync(string url, CancellationToken cancellationToken) => For(url).ReadAsync(url, cancellationToken);

    /// <inheritdoc />
    public ValueTask DeleteAsync(string url, CancellationToken cancellationToken) => For(url).DeleteAsync(url, cancellationToken);

    /// <inheritdoc />
    public ValueTask DeleteAttemptResultsAsync(string type, Guid jobId, int throughAttempt, CancellationToken cancellationToken) =>
        For(jobId).DeleteAttemptResultsAsync(type, jobId, throughAttempt, cancellationToken);

    private IAssetStorage For(Guid jobId) => InCloudinary(jobId) ? cloudinary : local;

    private IAssetStorage For(string url) => url.StartsWith("http", StringComparison.OrdinalIgnoreCase) ? cloudinary : local;
}

/// <summary>The soak's Cloudinary: the kit's emulator as a process of its own, answering 429 (with Cloudinary's rate-limit
/// headers) on a share of calls, writing its counters and the public ids it holds to files every few seconds and when
/// it stops.</summary>
public static class SoakCloudinary
{
    /// <summary>Runs the emulator until SIGTERM or <paramref name="runFor"/>.</summary>
    /// <param name="statsPath">Where the counters go (<c>NAME: VALUE</c> lines); the public ids go to the same path + <c>.assets</c>.</param>
    /// <param name="rateLimitPercent">The share of API calls answered 429.</param>
    /// <param name="runFor">The longest it runs.</param>
    /// <returns>The exit code.</returns>
    public static async Task<int> RunAsync(string statsPath, int rateLimitPercent, TimeSpan runFor)
    {
        await using var emulator = await CloudinaryEmulator.StartAsync("soak", "soak-key", "soak-secret-" + Guid.NewGuid().ToString("N")[..12]);
        emulator.RateLimitRandomly(rateLimitPercent, reset: "1");
        using var stop = new CancellationTokenSource(runFor);
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stop.Cancel();
        });
        Console.WriteLine($"EMULATOR {emulator.BaseUrl} {emulator.CloudinaryUrl}");
        while (!stop.IsCancellationRequested)
        {
            await Write(emulator, statsPath);
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(5), stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }

        await Write(emulator, statsPath);
        Console.WriteLine("STOPPED");
        return 0;

        static async Task Write(CloudinaryEmulator emulator, string path)
        {
            var ids = emulator.Assets.Keys.Order(StringComparer.Ordinal).ToList();
            await File.WriteAllLinesAsync(path + ".assets.tmp", ids);
            File.Move(path + ".assets.tmp", path + ".assets", overwrite: true);
            var stats = string.Create(CultureInfo.InvariantCulture, $"uploads: {emulator.UploadCount}\ndestroy calls: {emulator.DestroyCallCount}\nassets destroyed: {emulator.DestroyedCount}\nanswered 429: {emulator.RateLimitedCount}\nassets held: {ids.Count}\n");
            await File.WriteAllTextAsync(path + ".tmp", stats);
            File.Move(path + ".tmp", path, overwrite: true);
        }
    }
}
