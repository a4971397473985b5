namespace Stefna.Sdk;

/// <summary>What a caller asks the pipeline to generate.</summary>
public sealed class GenerationRequest
{
    /// <summary>The generation type's name, e.g. <c>neo-glitch</c>.</summary>
    public required string Type { get; init; }

    /// <summary>The user the job belongs to; every read of the job is scoped to this user.</summary>
    public required string UserId { get; init; }

    /// <summary>The source photo, when the type transforms one.</summary>
    public ImageInput? Image { get; init; }

    /// <summary>A free-text prompt (required by some types, optional for others).</summary>
    public string? Prompt { get; init; }

    /// <summary>A preset or style key of the type, e.g. a glitch style or professional preset.</summary>
    public string? Preset { get; init; }

    /// <summary>Type-specific options such as <c>emotion</c> or <c>reaction</c>; keys are case-insensitive.</summary>
    public IReadOnlyDictionary<string, string> Options { get; init; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Extra tags the caller wants on the result, in addition to the type's own.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>A key, unique per user and type, that makes a repeated submit return the same job.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>A URL (absolute http or https) to receive this job's completion event (<c>generation.completed</c>,
    /// <c>generation.failed</c> or <c>generation.canceled</c>) as a signed Standard Webhooks POST, delivered at least
    /// once. Checked at submit: it must resolve to public addresses unless
    /// <see cref="Webhooks.StefnaWebhookOptions.AllowPrivateUrls"/>, and a signing secret must be configured.</summary>
    public Uri? WebhookUrl { get; init; }

    /// <summary>Reads an option by key (case-insensitive).</summary>
    /// <param name="key">The option key.</param>
    /// <returns>The trimmed value, or <see langword="null"/> when absent or blank.</returns>
    public string? GetOption(string key)
    {
        foreach (var pair in Options)
        {
            if (string.Equals(pair.Key, key, StringComparison.OrdinalIgnoreCase))
            {
                return string.IsNullOrWhiteSpace(pair.Value) ? null : pair.Value.Trim();
            }
        }

        return null;
    }
}

/// <summary>A source image: bytes in memory, a local file, or a URL to fetch.</summary>
public sealed class ImageInput
{
    private ImageInput(ReadOnlyMemory<byte>? bytes, string? filePath, Uri? url, string? fileName)
    {
        Bytes = bytes;
        FilePath = filePath;
        Url = url;
        FileName = fileName;
    }

    /// <summary>The image bytes, when given in memory.</summary>
    public ReadOnlyMemory<byte>? Bytes { get; }

    /// <summary>A local file path, when given as a file.</summary>
    public string? FilePath { get; }

    /// <summary>An http(s) URL, when given as a URL. Fetched through the SDK's address guard.</summary>
    public Uri? Url { get; }

    /// <summary>The original file name, if known (informational only; never used as a storage path).</summary>
    public string? FileName { get; }

    /// <summary>An image held in memory.</summary>
    /// <param name="bytes">The encoded image.</param>
    /// <param name="fileName">The original file name, if known.</param>
    /// <returns>The input.</returns>
    public static ImageInput FromBytes(ReadOnlyMemory<byte> bytes, string? fileName = null) => new(bytes, null, null, fileName);

    /// <summary>An image in a local file.</summary>
    /// <param name="path">The file's path.</param>
    /// <returns>The input.</returns>
    public static ImageInput FromFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return new(null, path, null, Path.GetFileName(path));
    }

    /// <summary>An image at a URL.</summary>
    /// <param name="url">An absolute http or https URL.</param>
    /// <returns>The input.</returns>
    public static ImageInput FromUrl(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return new(null, null, url, null);
    }

    /// <summary>Interprets a command-line style value: an absolute URL with a scheme, otherwise a file path.</summary>
    /// <param name="pathOrUrl">A path or URL.</param>
    /// <returns>The input.</returns>
    public static ImageInput Parse(string pathOrUrl)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pathOrUrl);
        if (Uri.TryCreate(pathOrUrl, UriKind.Absolute, out var uri) && uri.Scheme is not "file" && pathOrUrl.Contains("://", StringComparison.Ordinal))
        {
            return FromUrl(uri);
        }

        if (Uri.TryCreate(pathOrUrl, UriKind.Absolute, out var fileUri) && fileUri.IsFile && pathOrUrl.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            // file:// URLs are refused by the URL guard; keep them as URLs so the refusal is explicit.
            return FromUrl(fileUri);
        }

        return FromFile(pathOrUrl);
    }

    /// <inheritdoc />
    public override string ToString() => Url?.ToString() ?? FilePath ?? $"{Bytes?.Length ?? 0} bytes";
}

/// <summary>What <see cref="IGenerationPipeline.SubmitAsync"/> returns at once.</summary>
/// <param name="Id">The job's id.</param>
/// <param name="Type">The generation type.</param>
/// <param name="Status">The job's status when the ticket was issued.</param>
/// <param name="CreatedAt">When the job was created.</param>
/// <param name="IsExisting"><see langword="true"/> when an idempotency key matched a job submitted earlier.</param>
public sealed record GenerationTicket(Guid Id, string Type, GenerationStatus Status, DateTimeOffset CreatedAt, bool IsExisting);
