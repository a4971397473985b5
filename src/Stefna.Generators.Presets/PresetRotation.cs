using Microsoft.Extensions.Options;
using Stefna.Sdk.Presets;

namespace Stefna.Generators.Presets;

/// <summary>Which professional presets are active when. Registered by <c>AddPresets()</c>.</summary>
public interface IPresetRotation
{
    /// <summary>The presets that take part in the rotation, in rotation order.</summary>
    IReadOnlyList<PresetDefinition> Presets { get; }

    /// <summary>How many presets are active each week.</summary>
    int ActiveCount { get; }

    /// <summary>Every preset is active at least once in any this many consecutive weeks.</summary>
    int CoverageWeeks { get; }

    /// <summary>The week that contains an instant, with its active presets.</summary>
    /// <param name="at">The instant; <see langword="null"/> means now.</param>
    /// <returns>The week and its presets.</returns>
    PresetWeek GetWeek(DateTimeOffset? at = null);

    /// <summary>The week that contains a calendar date (a UTC day), with its active presets.</summary>
    /// <param name="date">The date.</param>
    /// <returns>The week and its presets.</returns>
    PresetWeek GetWeek(DateOnly date);

    /// <summary>The presets active during the week that contains an instant.</summary>
    /// <param name="at">The instant; <see langword="null"/> means now.</param>
    /// <returns>The active presets, in rotation order.</returns>
    IReadOnlyList<PresetDefinition> GetActivePresets(DateTimeOffset? at = null);

    /// <summary>Whether a preset is active during the week that contains an instant.</summary>
    /// <param name="key">The preset key (case-insensitive).</param>
    /// <param name="at">The instant; <see langword="null"/> means now.</param>
    /// <returns><see langword="true"/> when active.</returns>
    bool IsActive(string key, DateTimeOffset? at = null);

    /// <summary>When the active set next changes: the next Monday 00:00 UTC after an instant.</summary>
    /// <param name="at">The instant; <see langword="null"/> means now.</param>
    /// <returns>The next rotation, in UTC.</returns>
    DateTimeOffset GetNextRotation(DateTimeOffset? at = null);
}

/// <summary>One week of the preset rotation.</summary>
/// <param name="Week">The ISO week (its number, start and end).</param>
/// <param name="Active">The presets active that week.</param>
public sealed record PresetWeek(RotationWeek Week, IReadOnlyList<PresetDefinition> Active)
{
    /// <summary>When the active set next changes (the week's end, Monday 00:00 UTC).</summary>
    public DateTimeOffset NextRotation => Week.End;
}

/// <summary>
/// The preset rotation: a <see cref="WeeklyRotation"/> over the catalogue (or <see cref="PresetsOptions.RotationKeys"/>)
/// with <see cref="PresetsOptions.ActiveCount"/> presets a week. Deterministic: every host computes the same set from
/// the date alone; "now" comes from <see cref="TimeProvider"/>.
/// </summary>
public sealed class PresetRotation : IPresetRotation
{
    private readonly WeeklyRotation _rotation;
    private readonly TimeProvider _time;

    /// <summary>Creates the rotation.</summary>
    /// <param name="options">The presets options.</param>
    /// <param name="time">The clock.</param>
    public PresetRotation(IOptions<PresetsOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _time = time ?? throw new ArgumentNullException(nameof(time));
        var value = options.Value;
        Presets = value.RotationKeys.Count == 0
            ? PresetCatalog.All
            : [.. value.RotationKeys.Select(k => PresetCatalog.TryGet(k, out var p) ? p : throw new ArgumentException($"Unknown preset '{k}' in RotationKeys.", nameof(options)))];
        _rotation = new WeeklyRotation(Presets.Count, value.ActiveCount);
    }

    /// <inheritdoc />
    public IReadOnlyList<PresetDefinition> Presets { get; }

    /// <inheritdoc />
    public int ActiveCount => _rotation.ActiveCount;

    /// <inheritdoc />
    public int CoverageWeeks => _rotation.CoverageWeeks;

    /// <inheritdoc />
    public PresetWeek GetWeek(DateTimeOffset? at = null)
    {
        var instant = at ?? _time.GetUtcNow();
        return new PresetWeek(WeeklyRotation.GetWeek(instant), _rotation.ActiveItems(Presets, instant));
    }

    /// <inheritdoc />
    public PresetWeek GetWeek(DateOnly date) => GetWeek(WeeklyRotation.StartOfDay(date));

    /// <inheritdoc />
    public IReadOnlyList<PresetDefinition> GetActivePresets(DateTimeOffset? at = null) => _rotation.ActiveItems(Presets, at ?? _time.GetUtcNow());

    /// <inheritdoc />
    public bool IsActive(string key, DateTimeOffset? at = null) =>
        GetActivePresets(at).Any(p => string.Equals(p.Key, key?.Trim(), StringComparison.OrdinalIgnoreCase));

    /// <inheritdoc />
    public DateTimeOffset GetNextRotation(DateTimeOffset? at = null) => WeeklyRotation.NextRotation(at ?? _time.GetUtcNow());
}
