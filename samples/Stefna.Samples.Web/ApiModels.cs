using Stefna.Sdk;

namespace Stefna.Samples.Web;

/// <summary>What <c>POST /api/generations/{type}</c> answers (202 Accepted).</summary>
/// <param name="Id">The job's id.</param>
/// <param name="Type">The generation type.</param>
/// <param name="Status">The job's status (<c>queued</c> for a new job).</param>
/// <param name="CreatedAt">When the job was created.</param>
/// <param name="Existing">Whether an <c>Idempotency-Key</c> matched a job submitted earlier.</param>
internal sealed record SubmitResponse(Guid Id, string Type, string Status, DateTimeOffset CreatedAt, bool Existing);

/// <summary>A job's failure.</summary>
/// <param name="Category">The failure category, e.g. <c>provider_unavailable</c>.</param>
/// <param name="Code">A stable code, e.g. <c>invalid_request.bad_image</c>.</param>
/// <param name="Message">A message a person can act on.</param>
internal sealed record ErrorResponse(string Category, string Code, string Message);

/// <summary>A generation job as the API shows it.</summary>
internal sealed record JobResponse(
    Guid Id,
    string Type,
    string Status,
    string? ImageUrl,
    string? SourceImageUrl,
    string? Prompt,
    string? Preset,
    IReadOnlyList<string> Tags,
    IReadOnlyDictionary<string, string?> Columns,
    ErrorResponse? Error,
    int Attempts,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    /// <summary>Maps an SDK job for the user who asked: its <c>/media/</c> URLs signed for them.</summary>
    public static JobResponse From(GenerationJob job, MediaAccess media, string userId) => new(
        job.Id,
        job.Type,
        job.Status.ToName(),
        media.Sign(job.ImageUrl, userId),
        media.Sign(job.SourceImageUrl, userId),
        job.Prompt,
        job.Preset,
        job.Tags,
        job.Columns,
        job.Error is { } e ? new ErrorResponse(GenerationError.CategoryCode(e.Category), e.Code, e.Message) : null,
        job.Attempts,
        job.CreatedAt,
        job.UpdatedAt);
}

/// <summary>One page of the feed.</summary>
/// <param name="Items">The jobs, newest first.</param>
/// <param name="NextCursor">Pass as <c>cursor</c> for the next page; <see langword="null"/> at the end.</param>
internal sealed record FeedResponse(IReadOnlyList<JobResponse> Items, string? NextCursor);

/// <summary>A professional preset.</summary>
internal sealed record PresetResponse(string Key, string Name, string Description);

/// <summary>The professional presets active in one week.</summary>
/// <param name="Week">The ISO week, e.g. <c>2025-W14</c>.</param>
/// <param name="WeekStart">When the week's rotation started.</param>
/// <param name="NextRotation">When the next rotation starts.</param>
/// <param name="Active">The active presets.</param>
internal sealed record PresetsResponse(string Week, DateTimeOffset WeekStart, DateTimeOffset NextRotation, IReadOnlyList<PresetResponse> Active);

/// <summary>A choice of a type's option.</summary>
internal sealed record ChoiceResponse(string Value, string Label, string? Description);

/// <summary>A form field a type understands: <c>prompt</c>, <c>preset</c>, <c>emotion</c>, <c>reaction</c>.</summary>
/// <param name="Name">The form field's name.</param>
/// <param name="Label">A label for a person.</param>
/// <param name="Kind"><c>choice</c> (pick from <paramref name="Choices"/>) or <c>text</c>.</param>
/// <param name="Required">Whether the type refuses a request without it.</param>
/// <param name="Default">The value used when it is left out.</param>
/// <param name="Choices">The allowed values of a choice.</param>
/// <param name="MaxLength">The longest text accepted.</param>
internal sealed record FieldResponse(string Name, string Label, string Kind, bool Required, string? Default, IReadOnlyList<ChoiceResponse>? Choices, int? MaxLength);

/// <summary>A registered generation type.</summary>
/// <param name="Name">The type's name, used in URLs.</param>
/// <param name="DisplayName">A human-readable name.</param>
/// <param name="Description">What the type does.</param>
/// <param name="RequiresImage">Whether a source image is required.</param>
/// <param name="Fields">The options the type understands.</param>
internal sealed record TypeResponse(string Name, string DisplayName, string Description, bool RequiresImage, IReadOnlyList<FieldResponse> Fields);

