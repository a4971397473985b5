using Stefna.Sdk.Legacy;

namespace Stefna.Sdk.Generators;

/// <summary>
/// A generation type as data: the request picks one of N named choices, each with its prompt text. The rules every
/// such type follows, written once in <see cref="ChoiceGenerator"/>:
/// <list type="bullet">
/// <item><b>Precedence</b>: the option named after <see cref="Column"/> (e.g. <c>emotion</c>) wins over
/// <see cref="GenerationRequest.Preset"/>; the preset is read only when the option is absent.</item>
/// <item><b>Storage</b>: the chosen key lands in the type's own column <see cref="Column"/> (declared as its only
/// extra column) and as a tag; the <c>preset</c> column stays empty.</item>
/// <item><b>Fallback</b>: a stored value that is no longer a choice (an old row, a removed choice) renders as
/// <see cref="FallbackChoice"/>: <see cref="Fallback"/> when set, else <see cref="Default"/>.</item>
/// <item><b>Prompt</b>: <c>{prompt}, {choice template}{suffix}</c>; without a prompt the choice's text starts it.</item>
/// </list>
/// </summary>
public sealed class ChoiceTypeDefinition
{
    private readonly Lazy<GenerationTypeDefinition> _definition;

    /// <summary>Creates a choice type.</summary>
    /// <param name="name">The type's name (e.g. <c>emotion-mask</c>).</param>
    /// <param name="tableName">The type's table (e.g. <c>emotion_mask_media</c>).</param>
    /// <param name="displayName">A human-readable name.</param>
    /// <param name="column">The choice's column and request option (e.g. <c>emotion</c>).</param>
    /// <param name="label">The choice's label in forms and help (e.g. <c>Emotion</c>).</param>
    /// <param name="choices">The choices, in display order.</param>
    public ChoiceTypeDefinition(string name, string tableName, string displayName, string column, string label, IReadOnlyList<PromptChoice> choices)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(column);
        ArgumentException.ThrowIfNullOrWhiteSpace(label);
        ArgumentNullException.ThrowIfNull(choices);
        if (choices.Count == 0)
        {
            throw new ArgumentException("A choice type needs at least one choice.", nameof(choices));
        }

        var duplicate = choices.GroupBy(c => c.Key, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"Choice '{duplicate.Key}' appears more than once.", nameof(choices));
        }

        Column = column;
        Label = label;
        Choices = [.. choices];
        _definition = new(() => Build(name, tableName, displayName));
    }

    /// <summary>The type's own column holding the choice; also the request option's name.</summary>
    public string Column { get; }

    /// <summary>The choice's label.</summary>
    public string Label { get; }

    /// <summary>The choices, in display order.</summary>
    public IReadOnlyList<PromptChoice> Choices { get; }

    /// <summary>A sentence on what the type does.</summary>
    public string Description { get; init; } = string.Empty;

    /// <summary>The choice taken when a request names none; <see langword="null"/> makes the choice required.</summary>
    public string? Default { get; init; }

    /// <summary>The choice an unknown stored value renders as; when unset, <see cref="Default"/>. A type without a
    /// default must set it.</summary>
    public string? Fallback { get; init; }

    /// <summary>Text appended to every choice's prompt (the type's common style words), starting with <c>", "</c>.</summary>
    public string Suffix { get; init; } = string.Empty;

    /// <summary>How strongly the result departs from the source image (0 to 1).</summary>
    public double Strength { get; init; } = 0.55;

    /// <summary>Tags every job carries besides the type's name and the chosen key.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>How rows of the legacy <c>media_assets</c> table are recognised as this type.</summary>
    public LegacyClassificationRule? LegacyRule { get; init; }

    /// <summary>The offline look's steps every choice shares, applied before the choice's own
    /// <see cref="PromptChoice.Look"/> (see <see cref="Providers.ProviderRequest.Look"/>); empty for none.</summary>
    public string Look { get; init; } = string.Empty;

    /// <summary>The offline look of a choice: the type's <see cref="Look"/> then the choice's own; <see langword="null"/>
    /// when neither has one.</summary>
    /// <param name="choice">The choice.</param>
    /// <returns>The recipe, or <see langword="null"/>.</returns>
    public string? LookOf(PromptChoice choice)
    {
        ArgumentNullException.ThrowIfNull(choice);
        var look = $"{Look} {choice.Look}".Trim();
        return look.Length == 0 ? null : look;
    }

    /// <summary>The core's definition (name, table, the choice column, the input), built and checked on first use.</summary>
    /// <exception cref="ArgumentException">The default or fallback is not a choice, or neither is set.</exception>
    public GenerationTypeDefinition Definition => _definition.Value;

    /// <summary>The choice an unknown stored value renders as.</summary>
    public PromptChoice FallbackChoice => Find(Fallback ?? Default) ?? throw new InvalidOperationException($"Choice type '{Definition.Name}' has no fallback.");

    /// <summary>The choice a stored value names (case-insensitively), or <see cref="FallbackChoice"/> when it names none.</summary>
    /// <param name="stored">The stored value.</param>
    /// <returns>The choice.</returns>
    public PromptChoice Resolve(string? stored) => Find(stored?.Trim()) ?? FallbackChoice;

    private PromptChoice? Find(string? key) =>
        key is null ? null : Choices.FirstOrDefault(c => string.Equals(c.Key, key, StringComparison.OrdinalIgnoreCase));

    private GenerationTypeDefinition Build(string name, string tableName, string displayName)
    {
        foreach (var (what, key) in new[] { ("Default", Default), ("Fallback", Fallback) })
        {
            if (key is not null && Find(key) is null)
            {
                throw new ArgumentException($"{what} '{key}' of '{name}' is not one of its choices: {string.Join(", ", Choices.Select(c => c.Key))}.");
            }
        }

        if ((Fallback ?? Default) is null)
        {
            throw new ArgumentException($"'{name}' has no default, so it must name a Fallback for unknown stored values.");
        }

        return new GenerationTypeDefinition(name, tableName, displayName)
        {
            Description = Description,
            ExtraColumns = [Column],
            LegacyRule = LegacyRule,
            Inputs =
            [
                new GenerationInput(Column, Label)
                {
                    Description = $"The {Label.ToLowerInvariant()} of the result.",
                    Choices = [.. Choices.Select(c => new GenerationChoice(c.Key, c.Label, c.Template))],
                    Default = Default,
                    Required = Default is null,
                },
            ],
        };
    }
}

/// <summary>One choice of a <see cref="ChoiceTypeDefinition"/>.</summary>
/// <param name="Key">The key as sent and stored (lower-case, e.g. <c>joy</c>).</param>
/// <param name="Label">A human-readable label (e.g. <c>Joy</c>).</param>
/// <param name="Template">What the choice adds to the prompt (e.g. <c>portrait radiating pure joy, wide smile</c>).</param>
public sealed record PromptChoice(string Key, string Label, string Template)
{
    /// <summary>The choice's offline look (see <see cref="Providers.ProviderRequest.Look"/>), after the type's shared
    /// steps; each choice should look visibly different from the others.</summary>
    public string? Look { get; init; }
}
