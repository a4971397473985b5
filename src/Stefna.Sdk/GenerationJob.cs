namespace Stefna.Sdk;

/// <summary>A generation job as stored in its type's table.</summary>
public sealed record GenerationJob
{
    /// <summary>The job's id.</summary>
    public required Guid Id { get; init; }

    /// <summary>The generation type's name.</summary>
    public required string Type { get; init; }

    /// <summary>The owning user.</summary>
    public required string UserId { get; init; }

    /// <summary>The current status.</summary>
    public required GenerationStatus Status { get; init; }

    /// <summary>The prompt the user gave (or the type's default).</summary>
    public string? Prompt { get; init; }

    /// <summary>The preset or style key.</summary>
    public string? Preset { get; init; }

    /// <summary>Where the source image is stored.</summary>
    public string? SourceImageUrl { get; init; }

    /// <summary>Where the generated image is delivered from, once completed.</summary>
    public string? ImageUrl { get; init; }

    /// <summary>The result's tags.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>Free-form metadata (type options, provider parameters, asset ids).</summary>
    public IReadOnlyDictionary<string, string> Meta { get; init; } = EmptyMap;

    /// <summary>Values of the type's own columns (see <see cref="Generators.GenerationTypeDefinition.ExtraColumns"/>).</summary>
    public IReadOnlyDictionary<string, string?> Columns { get; init; } = System.Collections.ObjectModel.ReadOnlyDictionary<string, string?>.Empty;

    /// <summary>Why the job failed, when it failed (or the last error of a retried attempt).</summary>
    public GenerationError? Error { get; init; }

    /// <summary>How many times a worker has claimed the job.</summary>
    public int Attempts { get; init; }

    /// <summary>Until when the current worker's lease (or a retry's back-off) holds.</summary>
    public DateTimeOffset? LeaseUntil { get; init; }

    /// <summary>The provider's job id, for providers that are polled.</summary>
    public string? ProviderJobId { get; init; }

    /// <summary>When a parked job (accepted by an asynchronous provider, waiting there) is next checked; <see langword="null"/>
    /// unless the job is parked. A parked job reads as <see cref="GenerationStatus.Processing"/>, holds no lease and is
    /// resumed by any host's parked-job poller once this time has come.</summary>
    public DateTimeOffset? NextCheckAt { get; init; }

    /// <summary>When the provider job recorded in <see cref="ProviderJobId"/> stops being waited for (set when the job is
    /// first parked: then plus <c>StefnaOptions.GenerationTimeout</c>); the job then fails as timed out.</summary>
    public DateTimeOffset? ProviderDeadline { get; init; }

    /// <summary>The idempotency key given at submit.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>The original id of a row migrated from the legacy table, when it was not a UUID.</summary>
    public string? LegacyId { get; init; }

    /// <summary>When the job was created.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the job last changed.</summary>
    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>Reads a type column's value.</summary>
    /// <param name="column">The column name.</param>
    /// <returns>The value, or <see langword="null"/>.</returns>
    public string? GetColumn(string column) => Columns.TryGetValue(column, out var value) ? value : null;

    private static readonly IReadOnlyDictionary<string, string> EmptyMap = System.Collections.ObjectModel.ReadOnlyDictionary<string, string>.Empty;
}

/// <summary>A job's claim by a worker: the job plus the attempt number that guards every later write.</summary>
/// <param name="Job">The claimed job (status <see cref="GenerationStatus.Processing"/>).</param>
/// <remarks>Writes made with a lease succeed only while the row is still processing under the same attempt,
/// so a worker whose lease expired and was re-claimed elsewhere cannot store a result twice.</remarks>
public sealed record JobLease(GenerationJob Job)
{
    /// <summary>The job's type.</summary>
    public string Type => Job.Type;

    /// <summary>The job's id.</summary>
    public Guid Id => Job.Id;

    /// <summary>The attempt this lease belongs to.</summary>
    public int Attempt => Job.Attempts;
}

/// <summary>A job to insert in the queued state.</summary>
public sealed record NewGenerationJob
{
    /// <summary>The job's id.</summary>
    public required Guid Id { get; init; }

    /// <summary>The generation type's name.</summary>
    public required string Type { get; init; }

    /// <summary>The owning user.</summary>
    public required string UserId { get; init; }

    /// <summary>The prompt.</summary>
    public string? Prompt { get; init; }

    /// <summary>The preset or style key.</summary>
    public string? Preset { get; init; }

    /// <summary>Where the source image is stored.</summary>
    public string? SourceImageUrl { get; init; }

    /// <summary>Tags.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>Metadata.</summary>
    public IReadOnlyDictionary<string, string> Meta { get; init; } = new Dictionary<string, string>();

    /// <summary>Values of the type's own columns.</summary>
    public IReadOnlyDictionary<string, string?> Columns { get; init; } = new Dictionary<string, string?>();

    /// <summary>The idempotency key, unique per user within the type.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>When the job was created.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>The job as a store keeps it once inserted, as the shipped stores read it back: queued, no attempt yet,
    /// every one of the type's own columns present (<see langword="null"/> when not set), <see cref="GenerationJob.UpdatedAt"/>
    /// equal to <see cref="CreatedAt"/>, copies of the tags and metadata. For stores that keep rows as objects (a
    /// third-party or in-memory store); call <see cref="Storage.MediaStoreChecks.CheckInsert"/> first.</summary>
    /// <param name="definition">The job's type.</param>
    /// <returns>The queued job.</returns>
    public GenerationJob ToQueuedJob(Generators.GenerationTypeDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return new GenerationJob
        {
            Id = Id,
            Type = Type,
            UserId = UserId,
            Status = GenerationStatus.Queued,
            Prompt = Prompt,
            Preset = Preset,
            SourceImageUrl = SourceImageUrl,
            Tags = [.. Tags],
            Meta = new Dictionary<string, string>(Meta, StringComparer.Ordinal),
            Columns = definition.ExtraColumns.ToDictionary(c => c, Columns.GetValueOrDefault, StringComparer.Ordinal),
            IdempotencyKey = IdempotencyKey,
            CreatedAt = CreatedAt,
            UpdatedAt = CreatedAt,
        };
    }
}

/// <summary>The outcome of an insert.</summary>
/// <param name="Job">The stored job: the new one, or the earlier one with the same idempotency key.</param>
/// <param name="Created"><see langword="false"/> when an idempotency key matched an existing job.</param>
public sealed record InsertResult(GenerationJob Job, bool Created);

/// <summary>What a worker stores when a job completes.</summary>
/// <param name="ImageUrl">The delivery URL of the generated image.</param>
/// <param name="Meta">Metadata to merge into the job's (asset id, dimensions, provider details).</param>
public sealed record JobResult(string ImageUrl, IReadOnlyDictionary<string, string> Meta);

/// <summary>A job to complete through <see cref="Storage.IJobQueue.CompleteManyAsync"/>: its lease and its result.</summary>
/// <param name="Lease">The lease of the attempt that produced the result.</param>
/// <param name="Result">The stored image.</param>
public sealed record JobCompletion(JobLease Lease, JobResult Result);
