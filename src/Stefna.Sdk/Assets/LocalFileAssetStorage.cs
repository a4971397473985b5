using Microsoft.Extensions.Options;

namespace Stefna.Sdk.Assets;

/// <summary>Options of <see cref="LocalFileAssetStorage"/>.</summary>
public sealed class LocalFileAssetStorageOptions
{
    /// <summary>The key of these options under the Stefna configuration section: <c>LocalFiles</c>.</summary>
    public const string ConfigurationKey = "LocalFiles";

    /// <summary>The folder images are written under. Required.</summary>
    public string RootPath { get; set; } = string.Empty;

    /// <summary>A base URL (e.g. <c>/media/</c> or <c>https://host/media/</c>) under which a web host serves the
    /// root folder. When unset, assets are addressed by <c>file://</c> URLs.</summary>
    public string? PublicBaseUrl { get; set; }
}

internal sealed class LocalFileAssetStorageOptionsValidator(Stefna.Sdk.Configuration.StefnaConfigurationKeys keys) : IValidateOptions<LocalFileAssetStorageOptions>
{
    public ValidateOptionsResult Validate(string? name, LocalFileAssetStorageOptions options) =>
        string.IsNullOrWhiteSpace(options.RootPath)
            ? ValidateOptionsResult.Fail($"{keys.KeyOf<LocalFileAssetStorageOptions>(name, nameof(options.RootPath))} is required: the folder images are written under.")
            : ValidateOptionsResult.Success;
}

/// <summary>
/// Stores images as files under one root folder: <c>sources/{type}/{job id}.{ext}</c> for a source photo and
/// <c>results/{type}/{job id}-{attempt}.{ext}</c> for a result (one file per claim attempt, so an attempt that lost its
/// lease never touches the file of the attempt that completed the job). Every path is built from the job id, attempt
/// number and validated type name and checked to stay inside the root, so no request can steer a write or read
/// outside it.
/// </summary>
public sealed class LocalFileAssetStorage : IAssetStorage
{
    private readonly string _root;
    private readonly string? _publicBase;

    /// <summary>Creates the storage.</summary>
    /// <param name="options">The options.</param>
    public LocalFileAssetStorage(IOptions<LocalFileAssetStorageOptions> options)
    {
        var value = options.Value;
        if (string.IsNullOrWhiteSpace(value.RootPath))
        {
            throw new ArgumentException("LocalFileAssetStorageOptions.RootPath is required.", nameof(options));
        }

        _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(value.RootPath)) + Path.DirectorySeparatorChar;
        _publicBase = string.IsNullOrWhiteSpace(value.PublicBaseUrl) ? null : value.PublicBaseUrl.TrimEnd('/') + "/";
    }

    /// <summary>The absolute root folder, ending with a separator.</summary>
    public string RootPath => _root;

    /// <inheritdoc />
    public async ValueTask<StoredAsset> SaveAsync(AssetWriteRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var relative = $"{(request.Kind == AssetKind.Source ? "sources" : "results")}/{SafeSegment(request.Type)}/{FileStem(request)}.{request.Info.Extension}";
        var path = Resolve(relative);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);

            // Write to a temporary file and move it into place, so a crash never leaves half an image behind a URL.
            var temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
            try
            {
                await File.WriteAllBytesAsync(temp, request.Content.ToArray(), cancellationToken).ConfigureAwait(false);
                File.Move(temp, path, overwrite: true);
            }
            finally
            {
                if (File.Exists(temp))
                {
                    File.Delete(temp);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new GenerationException(GenerationErrorCategory.StorageFailure, $"Could not write the image: {ServerPaths.Redact(ex.Message)}", innerException: ex);
        }

        return new StoredAsset(ToUrl(relative), relative, request.Info.Width, request.Info.Height, request.Info.Extension, request.Content.Length);
    }

    /// <inheritdoc />
    public async ValueTask<ReadOnlyMemory<byte>> ReadAsync(string url, CancellationToken cancellationToken)
    {
        var path = Resolve(ToRelative(url));
        try
        {
            return await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new GenerationException(GenerationErrorCategory.StorageFailure, $"Could not read the stored image '{url}': {ServerPaths.Redact(ex.Message)}", innerException: ex);
        }
    }

    /// <inheritdoc />
    public ValueTask DeleteAsync(string url, CancellationToken cancellationToken)
    {
        var path = Resolve(ToRelative(url));
        File.Delete(path);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    /// <remarks>Deletes <c>results/{type}/{job id}-{attempt}.{png|jpg|webp|gif}</c> for each attempt, and the temporary
    /// files a write cut off by a kill left beside them.</remarks>
    public ValueTask DeleteAttemptResultsAsync(string type, Guid jobId, int throughAttempt, CancellationToken cancellationToken)
    {
        var folder = Resolve($"results/{SafeSegment(type)}");
        if (throughAttempt < 0 || !Directory.Exists(folder))
        {
            return ValueTask.CompletedTask;
        }

        for (var attempt = 0; attempt <= throughAttempt; attempt++)
        {
            foreach (var extension in ResultExtensions)
            {
                File.Delete(Path.Combine(folder, FormattableString.Invariant($"{jobId:N}-{attempt}.{extension}")));
            }
        }

        foreach (var temp in Directory.EnumerateFiles(folder, $"{jobId:N}-*.tmp"))
        {
            File.Delete(temp);
        }

        return ValueTask.CompletedTask;
    }

    private static readonly string[] ResultExtensions = [.. Enum.GetValues<Imaging.ImageFormat>().Select(f => new Imaging.ImageInfo(f, 1, 1).Extension).Distinct()];

    /// <summary>Maps an asset URL back to its file path, refusing anything outside the root.</summary>
    /// <param name="url">A URL returned by <see cref="SaveAsync"/>.</param>
    /// <returns>The absolute file path.</returns>
    public string GetPath(string url) => Resolve(ToRelative(url));

    private string ToUrl(string relative) =>
        _publicBase is not null ? _publicBase + relative : new Uri(_root + relative).AbsoluteUri;

    private string ToRelative(string url)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        if (_publicBase is not null && url.StartsWith(_publicBase, StringComparison.Ordinal))
        {
            return Uri.UnescapeDataString(url[_publicBase.Length..]);
        }

        if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.IsFile)
        {
            var local = uri.LocalPath;
            return local.StartsWith(_root, StringComparison.Ordinal) ? local[_root.Length..] : throw Outside(url);
        }

        throw Outside(url);
    }

    private string Resolve(string relative)
    {
        var full = Path.GetFullPath(Path.Combine(_root, relative));
        if (!full.StartsWith(_root, StringComparison.Ordinal) || relative.Contains('\0', StringComparison.Ordinal))
        {
            throw Outside(relative);
        }

        return full;
    }

    private static string FileStem(AssetWriteRequest request)
    {
        if (request.Attempt is not { } attempt)
        {
            return request.JobId.ToString("N");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(attempt, nameof(request));
        return FormattableString.Invariant($"{request.JobId:N}-{attempt}");
    }

    private static string SafeSegment(string value)
    {
        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                throw new ArgumentException($"'{value}' is not a safe path segment.", nameof(value));
            }
        }

        return value;
    }

    private GenerationException Outside(string url) =>
        new(GenerationErrorCategory.StorageFailure, $"'{url}' does not address a file inside the asset root.", "storage_failure.outside_root");
}
