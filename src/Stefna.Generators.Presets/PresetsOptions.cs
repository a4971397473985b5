using Microsoft.Extensions.Options;

namespace Stefna.Generators.Presets;

/// <summary>Options of the Professional Presets type and its weekly rotation. Validated at start-up.</summary>
public sealed class PresetsOptions
{
    /// <summary>How many presets are active each ISO week; between 1 and the rotation's size. Default 6.</summary>
    public int ActiveCount { get; set; } = 6;

    /// <summary>Whether a preset outside this week's active set may still be used. Default <see langword="false"/>.</summary>
    public bool AllowInactivePresets { get; set; }

    /// <summary>The catalogue keys that take part in the rotation, in rotation order. Empty (the default) means the
    /// whole catalogue in catalogue order. Presets left out are never active.</summary>
    public IList<string> RotationKeys { get; } = [];
}

internal sealed class PresetsOptionsValidator : IValidateOptions<PresetsOptions>
{
    public ValidateOptionsResult Validate(string? name, PresetsOptions options)
    {
        var failures = new List<string>();
        var unknown = options.RotationKeys.Where(k => !PresetCatalog.TryGet(k, out _)).ToList();
        if (unknown.Count > 0)
        {
            failures.Add($"Presets RotationKeys has keys not in the catalogue: {string.Join(", ", unknown)}. Known keys: {string.Join(", ", PresetCatalog.Keys)}.");
        }

        if (options.RotationKeys.Distinct(StringComparer.OrdinalIgnoreCase).Count() != options.RotationKeys.Count)
        {
            failures.Add("Presets RotationKeys lists a key more than once.");
        }

        var size = options.RotationKeys.Count > 0 ? options.RotationKeys.Count : PresetCatalog.All.Count;
        if (options.ActiveCount < 1 || options.ActiveCount > size)
        {
            failures.Add($"Presets ActiveCount must be between 1 and {size} (the rotation's size); was {options.ActiveCount}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
