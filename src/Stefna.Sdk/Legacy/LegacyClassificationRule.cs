namespace Stefna.Sdk.Legacy;

/// <summary>
/// A plug-in's contribution to classifying rows of the legacy <c>media_assets</c> table: data on its definition, so a
/// plug-in needs no migration dependency. The legacy migration (package <c>Stefna.Sdk.Postgres.LegacyMigration</c>)
/// applies the signals of all plug-ins in order: <c>meta.generation_type</c>, then <c>meta.mode</c>, then
/// <c>preset_key</c>, then the prompt-only fallback; explicit signals that name two types leave the row unclassified.
/// </summary>
public sealed class LegacyClassificationRule
{
    /// <summary>Values of <c>meta-&gt;&gt;'generation_type'</c> that name this type (compared case-insensitively, <c>_</c> and <c>-</c> alike).</summary>
    public IReadOnlyList<string> GenerationTypes { get; init; } = [];

    /// <summary>Values of <c>meta-&gt;&gt;'mode'</c> that name this type (compared case-insensitively, <c>_</c> and <c>-</c> alike).</summary>
    public IReadOnlyList<string> Modes { get; init; } = [];

    /// <summary>Prefixes of <c>preset_key</c> that name this type (case-insensitive), e.g. <c>neo_tokyo</c>.</summary>
    public IReadOnlyList<string> PresetKeyPrefixes { get; init; } = [];

    /// <summary>Exact <c>preset_key</c> values that name this type (case-insensitive), e.g. a preset catalogue.</summary>
    public IReadOnlyList<string> PresetKeys { get; init; } = [];

    /// <summary>Whether this type takes rows that have a non-empty prompt, no preset key and no explicit signal.</summary>
    public bool IsPromptFallback { get; init; }

    /// <summary>Normalises a signal for comparison: trimmed, lower-case, <c>_</c> as <c>-</c>.</summary>
    /// <param name="value">A raw value.</param>
    /// <returns>The normalised value, or an empty string.</returns>
    public static string Normalize(string? value) =>
        (value ?? string.Empty).Trim().ToLowerInvariant().Replace('_', '-');
}
