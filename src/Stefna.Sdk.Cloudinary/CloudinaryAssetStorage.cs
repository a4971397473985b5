using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Assets;

namespace Stefna.Sdk.Cloudinary;

/// <summary>
/// Keeps source photos and generated images in Cloudinary. Each image is a signed upload to
/// <c>{FolderPrefix}/{type}/{sources|results}</c> with a public id made from the job id (<c>{jobId:N}_source</c>, and
/// <c>{jobId:N}_result_{attempt}</c> for a result stored by a claim attempt; <c>overwrite=true</c>), so a retried upload
/// within one attempt replaces the earlier copy instead of adding another, while an attempt that lost its lease never
/// replaces the image of the attempt that completed the job. Tags are the job's
/// tags plus the type; context records <c>user</c>, <c>type</c> and <c>job</c>. Failures surface as
/// <see cref="GenerationException"/> with <see cref="GenerationErrorCategory.StorageFailure"/> wrapping the
/// <see cref="CloudinaryException"/>.
/// </summary>
public sealed partial class CloudinaryAssetStorage : IAssetStorage
{
    private readonly CloudinaryClient _client;
    private readonly CloudinaryOptions _options;

    // What this account's uploads answered: 0 not seen yet, 1 the folder prefixes the public id (fixed folder mode, and
    // the folder parameter in dynamic folder mode), 2 it does not.
    private int _folderMode;

    /// <summary>Creates the storage.</summary>
    /// <param name="client">The REST client.</param>
    /// <param name="options">The options.</param>
    public CloudinaryAssetStorage(CloudinaryClient client, IOptions<CloudinaryOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _options = options.Value;
    }

    /// <summary>The REST client (uploads with parameters of your own, destroy).</summary>
    public CloudinaryClient Client => _client;

    /// <summary>A new delivery URL builder for this account.</summary>
    /// <returns>The builder.</returns>
    public CloudinaryUrlBuilder CreateUrlBuilder() => new(_options);

    /// <inheritdoc />
    public async ValueTask<StoredAsset> SaveAsync(AssetWriteRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var parameters = Parameters(request.Kind, request.Type, request.JobId, request.Attempt, request.UserId, request.Tags);
        try
        {
            var result = await _client.UploadAsync(request.Content, $"{request.JobId:N}.{request.Info.Extension}", parameters, cancellationToken).ConfigureAwait(false);
            Learn(parameters, result.PublicId);
            return ToAsset(result, request.Info.Width, request.Info.Height, request.Info.Extension, request.Content.Length);
        }
        catch (CloudinaryException ex)
        {
            throw Wrap(ex, "store the image in");
        }
    }

    /// <summary>Has Cloudinary fetch an image from a remote URL and stores it like <see cref="SaveAsync"/> would.</summary>
    /// <param name="remoteUrl">The image's http(s) URL; Cloudinary downloads it.</param>
    /// <param name="kind">Source photo or result.</param>
    /// <param name="type">The generation type (names the folder).</param>
    /// <param name="jobId">The job (names the asset).</param>
    /// <param name="userId">The owning user (recorded in the context).</param>
    /// <param name="tags">Tags besides the type.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <returns>The stored asset.</returns>
    /// <exception cref="GenerationException">With <see cref="GenerationErrorCategory.StorageFailure"/> when Cloudinary refuses or cannot be reached.</exception>
    public async ValueTask<StoredAsset> SaveFromUrlAsync(Uri remoteUrl, AssetKind kind, string type, Guid jobId, string userId, IReadOnlyList<string>? tags, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(remoteUrl);
        var parameters = Parameters(kind, type, jobId, null, userId, tags ?? []);
        try
        {
            var result = await _client.UploadRemoteAsync(remoteUrl, parameters, cancellationToken).ConfigureAwait(false);
            Learn(parameters, result.PublicId);
            return ToAsset(result, null, null, null, 0);
        }
        catch (CloudinaryException ex)
        {
            throw Wrap(ex, "store the image from a URL in");
        }
    }

    /// <inheritdoc />
    public async ValueTask<ReadOnlyMemory<byte>> ReadAsync(string url, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp) || !TryGetPublicId(url, _options.CloudName, out _))
        {
            throw new GenerationException(GenerationErrorCategory.StorageFailure, $"'{CloudinaryOptions.RedactUserInfo(url)}' is not a delivery URL of the Cloudinary cloud '{_options.CloudName}'.", "storage_failure.not_cloudinary_url");
        }

        try
        {
            return await _client.DownloadAsync(uri, cancellationToken).ConfigureAwait(false);
        }
        catch (CloudinaryException ex)
        {
            throw Wrap(ex, "read the image from");
        }
    }

    /// <inheritdoc />
    /// <remarks>Accepts a delivery URL of this cloud or a bare public id. Deleting an asset that is already gone succeeds.</remarks>
    public async ValueTask DeleteAsync(string url, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        string publicId;
        if (url.Contains("://", StringComparison.Ordinal))
        {
            if (!TryGetPublicId(url, _options.CloudName, out publicId))
            {
                throw new GenerationException(GenerationErrorCategory.StorageFailure, $"'{CloudinaryOptions.RedactUserInfo(url)}' is not a delivery URL of the Cloudinary cloud '{_options.CloudName}'.", "storage_failure.not_cloudinary_url");
            }
        }
        else
        {
            publicId = url.Trim('/');
        }

        try
        {
            await _client.DestroyAsync(publicId, invalidate: true, cancellationToken).ConfigureAwait(false);
        }
        catch (CloudinaryException ex)
        {
            throw Wrap(ex, "delete the image from");
        }
    }

    /// <inheritdoc />
    /// <remarks>Destroys the public id each attempt's upload used (<c>{folder}/{jobId:N}_result_{attempt}</c>, attempts
    /// 1 to <paramref name="throughAttempt"/>); Cloudinary answers <c>not found</c> for an attempt that stored nothing,
    /// which succeeds. The upload answer says whether the account puts the folder in the public id (fixed folder mode,
    /// and the <c>folder</c> parameter in dynamic folder mode) or not; until this storage has seen one, both forms are
    /// destroyed (each names only this job's attempt, so the other form is a harmless <c>not found</c>).</remarks>
    public async ValueTask DeleteAttemptResultsAsync(string type, Guid jobId, int throughAttempt, CancellationToken cancellationToken)
    {
        var folder = FolderFor(type, AssetKind.Result);
        var mode = Volatile.Read(ref _folderMode);
        for (var attempt = 1; attempt <= throughAttempt; attempt++)
        {
            var id = PublicIdFor(jobId, AssetKind.Result, attempt);
            try
            {
                if (mode != 2)
                {
                    await _client.DestroyAsync(folder + "/" + id, invalidate: true, cancellationToken).ConfigureAwait(false);
                }

                if (mode != 1)
                {
                    await _client.DestroyAsync(id, invalidate: true, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (CloudinaryException ex)
            {
                throw Wrap(ex, "delete an earlier attempt's image from");
            }
        }
    }

    /// <summary>The folder an asset of a type and kind is uploaded to: <c>{FolderPrefix}/{type}/{sources|results}</c>.</summary>
    /// <param name="type">The generation type.</param>
    /// <param name="kind">Source or result.</param>
    /// <returns>The folder.</returns>
    public string FolderFor(string type, AssetKind kind)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(type);
        if (!SegmentPattern().IsMatch(type))
        {
            throw new ArgumentException($"Type '{type}' is not a safe folder name.", nameof(type));
        }

        var leaf = $"{type}/{(kind == AssetKind.Source ? "sources" : "results")}";
        return _options.FolderPrefix.Length == 0 ? leaf : _options.FolderPrefix + "/" + leaf;
    }

    /// <summary>The public id (within its folder) of a job's asset: <c>{jobId:N}_{source|result}</c>. The kind is part of
    /// the id so a source and its result never collide, whatever the account's folder mode.</summary>
    /// <param name="jobId">The job.</param>
    /// <param name="kind">Source or result.</param>
    /// <returns>The public id.</returns>
    public static string PublicIdFor(Guid jobId, AssetKind kind) => PublicIdFor(jobId, kind, null);

    /// <summary>The public id (within its folder) of a job's asset stored by a claim attempt:
    /// <c>{jobId:N}_{source|result}_{attempt}</c>, or <c>{jobId:N}_{source|result}</c> without an attempt. One id per
    /// attempt keeps a worker whose lease was lost from overwriting (or deleting) the image of the attempt that
    /// completed the job.</summary>
    /// <param name="jobId">The job.</param>
    /// <param name="kind">Source or result.</param>
    /// <param name="attempt">The claim attempt (<see cref="AssetWriteRequest.Attempt"/>), or <see langword="null"/>.</param>
    /// <returns>The public id.</returns>
    public static string PublicIdFor(Guid jobId, AssetKind kind, int? attempt)
    {
        var id = $"{jobId:N}_{(kind == AssetKind.Source ? "source" : "result")}";
        if (attempt is not { } value)
        {
            return id;
        }

        ArgumentOutOfRangeException.ThrowIfNegative(value, nameof(attempt));
        return id + "_" + value.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Reads the public id from a delivery URL of a cloud: the path must start with
    /// <c>/{cloud}/image/upload/</c>; a signature, transformation steps and the version are skipped, the extension dropped.
    /// The host is not checked, since accounts may deliver through their own domain.</summary>
    /// <param name="url">The delivery URL.</param>
    /// <param name="cloudName">The cloud.</param>
    /// <param name="publicId">The public id.</param>
    /// <returns>Whether the URL is such a delivery URL.</returns>
    public static bool TryGetPublicId(string url, string cloudName, out string publicId)
    {
        publicId = string.Empty;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return false;
        }

        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length < 4 || segments[0] != cloudName || segments[1] != "image" || segments[2] != "upload")
        {
            return false;
        }

        var rest = segments[3..].ToList();
        if (rest.Count > 0 && SignaturePattern().IsMatch(rest[0]))
        {
            rest.RemoveAt(0);
        }

        var version = rest.FindIndex(s => VersionPattern().IsMatch(s));
        if (version >= 0)
        {
            rest = rest[(version + 1)..];
        }
        else
        {
            // No version: skip leading transformation steps (every component looks like "x_value").
            while (rest.Count > 1 && rest[0].Split(',').All(c => TransformationComponentPattern().IsMatch(c)))
            {
                rest.RemoveAt(0);
            }
        }

        if (rest.Count == 0)
        {
            return false;
        }

        var last = rest[^1];
        var dot = last.LastIndexOf('.');
        if (dot > 0)
        {
            rest[^1] = last[..dot];
        }

        publicId = string.Join('/', rest.Select(Uri.UnescapeDataString));
        return publicId.Length > 0;
    }

    private CloudinaryUploadParameters Parameters(AssetKind kind, string type, Guid jobId, int? attempt, string userId, IReadOnlyList<string> tags)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userId);
        var allTags = new List<string>(tags.Count + 1);
        foreach (var tag in tags.Append(type))
        {
            if (!string.IsNullOrWhiteSpace(tag) && !allTags.Contains(tag, StringComparer.Ordinal))
            {
                allTags.Add(tag);
            }
        }

        return new CloudinaryUploadParameters
        {
            PublicId = PublicIdFor(jobId, kind, attempt),
            Folder = FolderFor(type, kind),
            Tags = allTags,
            Context = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["user"] = userId,
                ["type"] = type,
                ["job"] = jobId.ToString("D"),
            },
            Overwrite = true,
        };
    }

    private void Learn(CloudinaryUploadParameters parameters, string publicId)
    {
        if (publicId == parameters.Folder + "/" + parameters.PublicId)
        {
            Volatile.Write(ref _folderMode, 1);
        }
        else if (publicId == parameters.PublicId)
        {
            Volatile.Write(ref _folderMode, 2);
        }
    }

    private static StoredAsset ToAsset(CloudinaryUploadResult result, int? width, int? height, string? format, long bytes) =>
        new(result.SecureUrl, result.PublicId, result.Width ?? width, result.Height ?? height, result.Format ?? format, result.Bytes > 0 ? result.Bytes : bytes);

    private GenerationException Wrap(CloudinaryException ex, string what) =>
        new(GenerationErrorCategory.StorageFailure, $"Could not {what} Cloudinary (cloud '{_options.CloudName}'): {ex.Message}", "storage_failure.cloudinary", ex);

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex SegmentPattern();

    [GeneratedRegex("^s--[A-Za-z0-9_-]{8,}--$")]
    private static partial Regex SignaturePattern();

    [GeneratedRegex("^v[0-9]+$")]
    private static partial Regex VersionPattern();

    [GeneratedRegex("^[a-z]{1,3}_[^_].*$")]
    private static partial Regex TransformationComponentPattern();
}
