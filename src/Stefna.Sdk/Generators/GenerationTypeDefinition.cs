using System.Text.RegularExpressions;
using Stefna.Sdk.Legacy;

namespace Stefna.Sdk.Generators;

/// <summary>Describes a generation type to the core: its name, its dedicated table and its own columns.</summary>
public sealed partial class GenerationTypeDefinition
{
    /// <summary>Creates a definition.</summary>
    /// <param name="name">The type's name: lower-case letters, digits and dashes, e.g. <c>neo-glitch</c>.</param>
    /// <param name="tableName">The dedicated table: lower-case letters, digits and underscores, e.g. <c>neo_glitch_media</c>.</param>
    /// <param name="displayName">A human-readable name.</param>
    /// <exception cref="ArgumentException">A name is not of the allowed form (table names are used as SQL identifiers).</exception>
    public GenerationTypeDefinition(string name, string tableName, string displayName)
    {
        if (!TypeNamePattern().IsMatch(name ?? string.Empty))
        {
            throw new ArgumentException($"Generation type name '{name}' must match {TypeNamePattern()}.", nameof(name));
        }

        if (!IdentifierPattern().IsMatch(tableName ?? string.Empty))
        {
            throw new ArgumentException($"Table name '{tableName}' must match {IdentifierPattern()}.", nameof(tableName));
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(displayName);
        Name = name!;
        TableName = tableName!;
        DisplayName = displayName;
    }

    /// <summary>The type's name, used in requests, URLs and resilience keys.</summary>
    public string Name { get; }

    /// <summary>The dedicated table's name.</summary>
    public string TableName { get; }

    /// <summary>A human-readable name.</summary>
    public string DisplayName { get; }

    /// <summary>A sentence on what the type does.</summary>
    public string Description { get; init; } = string.Empty;

    /// <summary>Whether a source image is required.</summary>
    public bool RequiresSourceImage { get; init; } = true;

    /// <summary>Text columns of the type's own, beyond the common ones (for example <c>emotion</c>).</summary>
    public IReadOnlyList<string> ExtraColumns
    {
        get => _extraColumns;
        init
        {
            foreach (var column in value)
            {
                if (!IdentifierPattern().IsMatch(column) || CommonColumns.Contains(column))
                {
                    throw new ArgumentException($"Extra column '{column}' must match {IdentifierPattern()} and not repeat a common column.", nameof(value));
                }
            }

            _extraColumns = [.. value];
        }
    }

    /// <summary>How rows of the legacy <c>media_assets</c> table are recognised as this type.</summary>
    public LegacyClassificationRule? LegacyRule { get; init; }

    /// <summary>The inputs the type reads from a request (besides the prompt, image and tags), with their labels,
    /// choices and defaults; front ends build their options and forms from these.</summary>
    public IReadOnlyList<GenerationInput> Inputs { get; init; } = [];

    /// <summary>A reference table the <c>preset</c> column points at, if the type has one.</summary>
    public CatalogDefinition? Catalog { get; init; }

    /// <summary>The columns every type table has.</summary>
    public static IReadOnlySet<string> CommonColumns { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "id", "user_id", "status", "prompt", "preset", "source_image_url", "image_url", "tags", "meta",
        "error_code", "error_message", "attempts", "lease_until", "provider_job_id", "idempotency_key",
        "legacy_id", "created_at", "updated_at", "next_check_at", "provider_deadline",
    };

    private IReadOnlyList<string> _extraColumns = [];

    /// <inheritdoc />
    public override string ToString() => $"{Name} ({TableName})";

    [GeneratedRegex("^[a-z][a-z0-9]*(-[a-z0-9]+)*$")]
    private static partial Regex TypeNamePattern();

    [GeneratedRegex("^[a-z][a-z0-9_]{0,62}$")]
    private static partial Regex IdentifierPattern();
}
