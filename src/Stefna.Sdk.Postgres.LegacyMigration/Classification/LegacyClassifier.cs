using System.Text.Json;
using Stefna.Sdk.Generators;

namespace Stefna.Sdk.Legacy;

/// <summary>
/// Classifies rows of the legacy <c>media_assets</c> table by the rules the registered plug-ins contribute
/// (<see cref="GenerationTypeDefinition.LegacyRule"/>), applied in the documented order:
/// <list type="number">
/// <item><c>meta-&gt;&gt;'generation_type'</c>;</item>
/// <item>else <c>meta-&gt;&gt;'mode'</c>;</item>
/// <item>else <c>preset_key</c>: a prefix first, then an exact key (a catalogue);</item>
/// <item>else a non-blank <c>prompt</c> with no <c>preset_key</c>: the prompt-only fallback type.</item>
/// </list>
/// Rules 1–3 are explicit signals: when they name two different types the row is unclassified (conflicting
/// signals). Values compare after <see cref="NormalizeSignal"/> (trimmed, ASCII letters lower-cased, <c>_</c> as
/// <c>-</c>). A row without an id, a <c>url</c> or a <c>user_id</c> is unclassified before any rule is tried.
/// <c>meta</c> that is not a JSON object (null, an array, a string, text that is not JSON) gives no signal.
/// </summary>
/// <remarks>
/// The classifier knows no generation type: it only orders and checks the rules plug-ins contribute. The normalised
/// rules are exposed through <see cref="Rules"/> so a store can compile the very same decision into SQL; the
/// PostgreSQL migrator does, and its tests check both agree row by row.
/// </remarks>
public sealed class LegacyClassifier
{
    /// <summary>The whitespace <see cref="NormalizeSignal"/> trims (SQL: <c>btrim(x, E' \t\r\n')</c>).</summary>
    public const string TrimmedCharacters = " \t\r\n";

    /// <summary>The <c>meta</c> key where a migrated row keeps its original <c>preset_key</c> when the preset stored is
    /// the catalogue's own spelling of it (see <see cref="LegacyClassification.Preset"/>).</summary>
    public const string LegacyPresetKeyMetaKey = "legacy_preset_key";

    private readonly Dictionary<string, LegacyTypeRule> _byGenerationType = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LegacyTypeRule> _byMode = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LegacyTypeRule> _byPresetKey = new(StringComparer.Ordinal);
    private readonly List<(string Prefix, LegacyTypeRule Rule)> _prefixes = [];

    /// <summary>Creates a classifier from the types' rules (types without a rule take no legacy rows).</summary>
    /// <param name="types">The registered generation types.</param>
    /// <exception cref="ArgumentException">Two types claim the same value, overlapping prefixes, or more than one
    /// type claims the prompt-only fallback: the order alone could not decide such rows.</exception>
    public LegacyClassifier(IEnumerable<GenerationTypeDefinition> types)
    {
        ArgumentNullException.ThrowIfNull(types);
        var rules = new List<LegacyTypeRule>();
        foreach (var type in types.Where(t => t.LegacyRule is not null).OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            var source = type.LegacyRule!;
            rules.Add(new LegacyTypeRule(
                type,
                Distinct(source.GenerationTypes),
                Distinct(source.Modes),
                Distinct(source.PresetKeyPrefixes),
                Distinct(source.PresetKeys),
                source.IsPromptFallback)
            {
                CatalogKeys = CatalogKeysOf(type),
            });
        }

        foreach (var rule in rules)
        {
            Claim(_byGenerationType, rule.GenerationTypes, rule, "meta.generation_type");
            Claim(_byMode, rule.Modes, rule, "meta.mode");
            Claim(_byPresetKey, rule.PresetKeys, rule, "preset_key");
            foreach (var prefix in rule.PresetKeyPrefixes)
            {
                var clash = _prefixes.FirstOrDefault(p => p.Rule != rule && (p.Prefix.StartsWith(prefix, StringComparison.Ordinal) || prefix.StartsWith(p.Prefix, StringComparison.Ordinal)));
                if (clash.Rule is not null)
                {
                    throw new ArgumentException($"The legacy rules of '{clash.Rule.Type.Name}' and '{rule.Type.Name}' have overlapping preset_key prefixes ('{clash.Prefix}', '{prefix}').", nameof(types));
                }

                _prefixes.Add((prefix, rule));
            }
        }

        var fallbacks = rules.Where(r => r.IsPromptFallback).ToList();
        if (fallbacks.Count > 1)
        {
            throw new ArgumentException($"More than one type claims the prompt-only legacy fallback: {string.Join(", ", fallbacks.Select(f => f.Type.Name))}.", nameof(types));
        }

        Rules = rules;
        PromptFallback = fallbacks.SingleOrDefault();
    }

    /// <summary>The normalised rules, one per type that has one, ordered by type name.</summary>
    public IReadOnlyList<LegacyTypeRule> Rules { get; }

    /// <summary>The type that takes prompt-only rows, if any.</summary>
    public LegacyTypeRule? PromptFallback { get; }

    /// <summary>Normalises a signal for comparison: <see cref="TrimmedCharacters"/> trimmed, ASCII letters lower-cased,
    /// <c>_</c> written as <c>-</c>. Only ASCII letters change case, so SQL's <c>translate()</c> does exactly the same.</summary>
    /// <param name="value">A raw value.</param>
    /// <returns>The normalised value; empty for <see langword="null"/>.</returns>
    public static string NormalizeSignal(string? value)
    {
        if (value is null)
        {
            return string.Empty;
        }

        var trimmed = value.AsSpan().Trim(TrimmedCharacters);
        return string.Create(trimmed.Length, trimmed.ToString(), static (span, text) =>
        {
            for (var i = 0; i < text.Length; i++)
            {
                var c = text[i];
                span[i] = c switch
                {
                    >= 'A' and <= 'Z' => (char)(c + 32),
                    '_' => '-',
                    _ => c,
                };
            }
        });
    }

    /// <summary>Whether a text is blank: <see langword="null"/> or only <see cref="TrimmedCharacters"/>.</summary>
    /// <param name="value">The text.</param>
    /// <returns><see langword="true"/> when blank.</returns>
    public static bool IsBlank(string? value) => value is null || value.AsSpan().Trim(TrimmedCharacters).IsEmpty;

    /// <summary>Reads <c>meta-&gt;&gt;key</c> the way PostgreSQL does: a string's value, other scalars' JSON text,
    /// <see langword="null"/> when meta is not a JSON object, lacks the key, or is not JSON at all. With a repeated
    /// key the last one wins, as in <c>jsonb</c>.</summary>
    /// <param name="metaJson">The meta column as JSON text, or <see langword="null"/>.</param>
    /// <param name="key">The key.</param>
    /// <returns>The value as text, or <see langword="null"/>.</returns>
    public static string? ReadMeta(string? metaJson, string key)
    {
        if (string.IsNullOrWhiteSpace(metaJson))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(metaJson);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            string? value = null;
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.NameEquals(key))
                {
                    value = property.Value.ValueKind switch
                    {
                        JsonValueKind.String => property.Value.GetString(),
                        JsonValueKind.Null => null,
                        _ => property.Value.GetRawText(),
                    };
                }
            }

            return value;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Classifies one legacy row.</summary>
    /// <param name="row">The row.</param>
    /// <returns>The type and the signal that decided it, or the reason the row stays unclassified.</returns>
    public LegacyClassification Classify(LegacyRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        if (row.Id is null)
        {
            return LegacyClassification.Unclassified(LegacyUnclassifiedReason.NoId, "the row has no id");
        }

        if (IsBlank(row.Url))
        {
            return LegacyClassification.Unclassified(LegacyUnclassifiedReason.NoUrl, "the row has no url");
        }

        if (row.UserId is null)
        {
            return LegacyClassification.Unclassified(LegacyUnclassifiedReason.NoUserId, "the row has no user_id");
        }

        var generationType = NormalizeSignal(ReadMeta(row.Meta, "generation_type"));
        var mode = NormalizeSignal(ReadMeta(row.Meta, "mode"));
        var presetKey = NormalizeSignal(row.PresetKey);

        var signals = new List<(LegacySignal Signal, string Value, LegacyTypeRule Rule)>(3);
        if (generationType.Length > 0 && _byGenerationType.TryGetValue(generationType, out var byType))
        {
            signals.Add((LegacySignal.GenerationType, generationType, byType));
        }

        if (mode.Length > 0 && _byMode.TryGetValue(mode, out var byMode))
        {
            signals.Add((LegacySignal.Mode, mode, byMode));
        }

        if (presetKey.Length > 0)
        {
            var prefix = _prefixes.FirstOrDefault(p => presetKey.StartsWith(p.Prefix, StringComparison.Ordinal));
            if (prefix.Rule is not null)
            {
                signals.Add((LegacySignal.PresetKeyPrefix, presetKey, prefix.Rule));
            }
            else if (_byPresetKey.TryGetValue(presetKey, out var byKey))
            {
                signals.Add((LegacySignal.PresetKey, presetKey, byKey));
            }
        }

        if (signals.Count > 0)
        {
            var first = signals[0];
            var other = signals.FirstOrDefault(s => s.Rule != first.Rule);
            if (other.Rule is not null)
            {
                return LegacyClassification.Unclassified(
                    LegacyUnclassifiedReason.ConflictingSignals,
                    $"{Describe(first.Signal)} '{first.Value}' names {first.Rule.Type.Name} but {Describe(other.Signal)} '{other.Value}' names {other.Rule.Type.Name}");
            }

            return LegacyClassification.Classified(first.Rule.Type.Name, first.Signal, $"{Describe(first.Signal)} '{first.Value}' names {first.Rule.Type.Name}", MapPreset(first.Rule, row, presetKey));
        }

        if (PromptFallback is { } fallback && !IsBlank(row.Prompt) && presetKey.Length == 0)
        {
            return LegacyClassification.Classified(fallback.Type.Name, LegacySignal.PromptFallback, $"a prompt and no preset_key: the prompt-only fallback {fallback.Type.Name}", row.PresetKey);
        }

        return LegacyClassification.Unclassified(LegacyUnclassifiedReason.NoRuleMatched, "no rule of any registered type matches the row");
    }

    /// <summary>The text of a reason as reports show it, e.g. <c>conflicting signals</c>.</summary>
    /// <param name="reason">The reason.</param>
    /// <returns>Its text.</returns>
    public static string ReasonText(LegacyUnclassifiedReason reason) => reason switch
    {
        LegacyUnclassifiedReason.NoId => "no id",
        LegacyUnclassifiedReason.NoUrl => "no url",
        LegacyUnclassifiedReason.NoUserId => "no user id",
        LegacyUnclassifiedReason.ConflictingSignals => "conflicting signals",
        LegacyUnclassifiedReason.NoRuleMatched => "no rule matched",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };

    private static string Describe(LegacySignal signal) => signal switch
    {
        LegacySignal.GenerationType => "meta.generation_type",
        LegacySignal.Mode => "meta.mode",
        LegacySignal.PresetKeyPrefix => "the preset_key prefix of",
        LegacySignal.PresetKey => "preset_key",
        _ => "the prompt",
    };

    /// <summary>Whether a migrated row can keep its original preset key in <c>meta</c> (see
    /// <see cref="LegacyPresetKeyMetaKey"/>): <c>meta</c> is null, or a JSON object without that key. Otherwise (an
    /// array, a string, text that is not JSON, or the key already taken) the preset is stored as written.</summary>
    /// <param name="metaJson">The meta column as JSON text, or <see langword="null"/>.</param>
    /// <returns><see langword="true"/> when the original can be kept.</returns>
    public static bool CanKeepLegacyPresetKey(string? metaJson)
    {
        if (metaJson is null)
        {
            return true;
        }

        try
        {
            using var document = JsonDocument.Parse(metaJson);
            return document.RootElement.ValueKind == JsonValueKind.Object && !document.RootElement.TryGetProperty(LegacyPresetKeyMetaKey, out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The preset a row of <paramref name="rule"/>'s type stores: the catalogue's own key when the row's key is
    /// one written another way and the original can be kept in <c>meta</c>; otherwise the key as written.</summary>
    private static string? MapPreset(LegacyTypeRule rule, LegacyRow row, string normalizedKey)
    {
        if (row.PresetKey is null || !rule.CatalogKeys.TryGetValue(normalizedKey, out var key) || key == row.PresetKey)
        {
            return row.PresetKey;
        }

        return CanKeepLegacyPresetKey(row.Meta) ? key : row.PresetKey;
    }

    private static Dictionary<string, string> CatalogKeysOf(GenerationTypeDefinition type)
    {
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in type.Catalog?.Entries ?? [])
        {
            var normalized = NormalizeSignal(entry.Key);
            if (normalized.Length == 0)
            {
                continue;
            }

            if (keys.TryGetValue(normalized, out var other))
            {
                throw new ArgumentException($"The catalogue of '{type.Name}' holds '{other}' and '{entry.Key}', the same key written two ways: a legacy preset_key could not be mapped to one of them.", nameof(type));
            }

            keys[normalized] = entry.Key;
        }

        return keys;
    }

    private static string[] Distinct(IEnumerable<string> values) =>
        [.. values.Select(NormalizeSignal).Where(v => v.Length > 0).Distinct(StringComparer.Ordinal)];

    private static void Claim(Dictionary<string, LegacyTypeRule> map, IEnumerable<string> values, LegacyTypeRule rule, string what)
    {
        foreach (var value in values)
        {
            if (map.TryGetValue(value, out var existing) && existing != rule)
            {
                throw new ArgumentException($"The legacy rules of '{existing.Type.Name}' and '{rule.Type.Name}' both claim {what} '{value}'.", nameof(values));
            }

            map[value] = rule;
        }
    }
}

/// <summary>One type's legacy rule with every value normalised (<see cref="LegacyClassifier.NormalizeSignal"/>) and
/// de-duplicated: the data a store compiles into SQL.</summary>
/// <param name="Type">The generation type.</param>
/// <param name="GenerationTypes">Values of <c>meta.generation_type</c> naming the type.</param>
/// <param name="Modes">Values of <c>meta.mode</c> naming the type.</param>
/// <param name="PresetKeyPrefixes">Prefixes of <c>preset_key</c> naming the type.</param>
/// <param name="PresetKeys">Exact <c>preset_key</c> values naming the type.</param>
/// <param name="IsPromptFallback">Whether the type takes prompt-only rows.</param>
public sealed record LegacyTypeRule(
    GenerationTypeDefinition Type,
    IReadOnlyList<string> GenerationTypes,
    IReadOnlyList<string> Modes,
    IReadOnlyList<string> PresetKeyPrefixes,
    IReadOnlyList<string> PresetKeys,
    bool IsPromptFallback)
{
    /// <summary>The type's catalogue keys (<see cref="GenerationTypeDefinition.Catalog"/>) by their normalised form
    /// (<see cref="LegacyClassifier.NormalizeSignal"/>): a legacy <c>preset_key</c> that normalises to one of them is
    /// stored as the catalogue's key (<see cref="LegacyClassification.Preset"/>). Empty for a type without a catalogue.</summary>
    public IReadOnlyDictionary<string, string> CatalogKeys { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);
}

/// <summary>A row of the legacy <c>media_assets</c> table, as far as classification needs it.</summary>
/// <param name="Id">The TEXT id.</param>
/// <param name="UserId">The TEXT user id.</param>
/// <param name="Url">The image URL.</param>
/// <param name="Prompt">The prompt.</param>
/// <param name="PresetKey">The preset key.</param>
/// <param name="Meta">The <c>meta</c> column as JSON text (any shape, or not JSON at all).</param>
public sealed record LegacyRow(string? Id, string? UserId, string? Url, string? Prompt, string? PresetKey, string? Meta);

/// <summary>Which rule decided a row's type.</summary>
public enum LegacySignal
{
    /// <summary>Rule 1: <c>meta.generation_type</c>.</summary>
    GenerationType,

    /// <summary>Rule 2: <c>meta.mode</c>.</summary>
    Mode,

    /// <summary>Rule 3: a prefix of <c>preset_key</c>.</summary>
    PresetKeyPrefix,

    /// <summary>Rule 3: an exact <c>preset_key</c> (a catalogue key).</summary>
    PresetKey,

    /// <summary>Rule 4: a prompt and no preset key.</summary>
    PromptFallback,
}

/// <summary>Why a legacy row stays where it is.</summary>
public enum LegacyUnclassifiedReason
{
    /// <summary>The id is null.</summary>
    NoId = 1,

    /// <summary>The url is null or blank.</summary>
    NoUrl = 2,

    /// <summary>The user id is null (the dedicated tables require one).</summary>
    NoUserId = 3,

    /// <summary>Explicit signals name two different types.</summary>
    ConflictingSignals = 4,

    /// <summary>No rule of any registered type matches.</summary>
    NoRuleMatched = 5,
}

/// <summary>The outcome of classifying one legacy row.</summary>
public sealed record LegacyClassification
{
    private LegacyClassification(string? type, LegacySignal? signal, LegacyUnclassifiedReason? reason, string explanation, string? preset)
    {
        Type = type;
        Signal = signal;
        Reason = reason;
        Explanation = explanation;
        Preset = preset;
    }

    /// <summary>The generation type's name, or <see langword="null"/> when unclassified.</summary>
    public string? Type { get; }

    /// <summary>The rule that decided the type.</summary>
    public LegacySignal? Signal { get; }

    /// <summary>Why the row is unclassified, or <see langword="null"/> when classified.</summary>
    public LegacyUnclassifiedReason? Reason { get; }

    /// <summary>A sentence a person can read, e.g. <c>meta.mode 'neotokyo' names neo-glitch</c>.</summary>
    public string Explanation { get; }

    /// <summary>The <c>preset</c> the migrated row stores, <see langword="null"/> when unclassified or without a
    /// preset key. A key of the type's catalogue written another way (case, <c>_</c>/<c>-</c>, surrounding whitespace,
    /// e.g. <c>CINEMATIC_GLOW</c>) becomes the catalogue's key (<c>cinematic_glow</c>), and the original goes to
    /// <c>meta.legacy_preset_key</c> (<see cref="LegacyClassifier.LegacyPresetKeyMetaKey"/>); that needs <c>meta</c> to
    /// be null or a JSON object without that key (<see cref="LegacyClassifier.CanKeepLegacyPresetKey"/>), otherwise,
    /// like any other key, it is stored as written.</summary>
    public string? Preset { get; }

    internal static LegacyClassification Classified(string type, LegacySignal signal, string explanation, string? preset) => new(type, signal, null, explanation, preset);

    internal static LegacyClassification Unclassified(LegacyUnclassifiedReason reason, string explanation) => new(null, null, reason, explanation, null);
}
