namespace Stefna.Sdk.Assets;

/// <summary>Where source and generated images are kept and delivered from (local files, Cloudinary, …).</summary>
public interface IAssetStorage
{
    /// <summary>Stores an image.</summary>
    /// <param name="request">The image and where it belongs.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <returns>The stored asset and its delivery URL.</returns>
    /// <exception cref="GenerationException">With <see cref="GenerationErrorCategory.StorageFailure"/> when the image cannot be stored.</exception>
    ValueTask<StoredAsset> SaveAsync(AssetWriteRequest request, CancellationToken cancellationToken);

    /// <summary>Reads back an image stored by <see cref="SaveAsync"/>.</summary>
    /// <param name="url">The asset's URL as returned in <see cref="StoredAsset.Url"/>.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The encoded image.</returns>
    ValueTask<ReadOnlyMemory<byte>> ReadAsync(string url, CancellationToken cancellationToken);

    /// <summary>Deletes an asset; deleting one that is already gone succeeds.</summary>
    /// <param name="url">The asset's URL as returned in <see cref="StoredAsset.Url"/>.</param>
    /// <param name="cancellationToken">Cancels the delete.</param>
    /// <returns>A task that completes when the asset is gone.</returns>
    ValueTask DeleteAsync(string url, CancellationToken cancellationToken);

    /// <summary>Deletes the results that claim attempts 0 to <paramref name="throughAttempt"/> of a job may have stored
    /// (<see cref="AssetWriteRequest.Attempt"/>) and no row references: an attempt killed, or cut off from the database,
    /// after storing its image and before completing. The engine calls it once the job has ended without those results
    /// (completed by a later attempt, or failed for good), so nothing it deletes can be referenced. Deleting what is not
    /// there succeeds. The default does nothing (such results then stay until swept by other means); the local-file
    /// storage deletes them by name, the Cloudinary storage destroys them by public id.</summary>
    /// <param name="type">The job's generation type.</param>
    /// <param name="jobId">The job.</param>
    /// <param name="throughAttempt">The last attempt whose result goes.</param>
    /// <param name="cancellationToken">Cancels the delete.</param>
    /// <returns>A task that completes when the results are gone.</returns>
    ValueTask DeleteAttemptResultsAsync(string type, Guid jobId, int throughAttempt, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>Whether an asset is a user's source photo or a generated result.</summary>
public enum AssetKind
{
    /// <summary>The photo a user submitted.</summary>
    Source,

    /// <summary>A generated image.</summary>
    Result,
}

/// <summary>An image to store.</summary>
public sealed record AssetWriteRequest
{
    /// <summary>The encoded image.</summary>
    public required ReadOnlyMemory<byte> Content { get; init; }

    /// <summary>Its format and dimensions.</summary>
    public required Imaging.ImageInfo Info { get; init; }

    /// <summary>Source photo or result.</summary>
    public required AssetKind Kind { get; init; }

    /// <summary>The generation type (storage may use a folder per type).</summary>
    public required string Type { get; init; }

    /// <summary>The job the image belongs to (names the asset, so a retried upload overwrites rather than duplicates).</summary>
    public required Guid JobId { get; init; }

    /// <summary>For a result, the claim attempt that produced it (<see cref="JobLease.Attempt"/>); <see langword="null"/>
    /// for a source photo. Storage names a result by job id and attempt, so a worker whose lease expired and whose job
    /// another attempt completed never overwrites that attempt's image, and can delete its own image safely.</summary>
    public int? Attempt { get; init; }

    /// <summary>The owning user.</summary>
    public required string UserId { get; init; }

    /// <summary>Tags to attach where the storage supports them.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];
}

/// <summary>A stored image.</summary>
/// <param name="Url">Where it is delivered from; also the handle for <see cref="IAssetStorage.ReadAsync"/> and <see cref="IAssetStorage.DeleteAsync"/>.</param>
/// <param name="AssetId">The storage's own id (relative path, Cloudinary public id).</param>
/// <param name="Width">Width in pixels, if known.</param>
/// <param name="Height">Height in pixels, if known.</param>
/// <param name="Format">The format, e.g. <c>png</c>.</param>
/// <param name="Bytes">Size in bytes.</param>
public sealed record StoredAsset(string Url, string AssetId, int? Width, int? Height, string? Format, long Bytes);
