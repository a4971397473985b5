namespace Stefna.Sdk.Generators;

/// <summary>
/// One input a generation type reads from a request, described once on its <see cref="GenerationTypeDefinition"/> so
/// that every front end (the console CLI, a web form, an OpenAPI document) shows the same name, label, choices and
/// default without a second list.
/// </summary>
public sealed class GenerationInput
{
    /// <summary>Creates an input.</summary>
    /// <param name="name">The request option's name (e.g. <c>emotion</c>); also the CLI option (<c>--emotion</c>) and the form field.</param>
    /// <param name="label">A short human-readable label.</param>
    public GenerationInput(string name, string label)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(label);
        Name = name;
        Label = label;
    }

    /// <summary>The request option's name.</summary>
    public string Name { get; }

    /// <summary>A short human-readable label.</summary>
    public string Label { get; }

    /// <summary>A sentence on what the input does.</summary>
    public string Description { get; init; } = string.Empty;

    /// <summary>The allowed values, in display order; empty when the input is free text.</summary>
    public IReadOnlyList<GenerationChoice> Choices { get; init; } = [];

    /// <summary>The value used when none is given, or <see langword="null"/>.</summary>
    public string? Default { get; init; }

    /// <summary>Whether a request must give a value.</summary>
    public bool Required { get; init; }

    /// <inheritdoc />
    public override string ToString() => Choices.Count == 0 ? Name : $"{Name} ({string.Join(", ", Choices.Select(c => c.Key))})";
}

/// <summary>One allowed value of an input.</summary>
/// <param name="Key">The value as sent and stored (e.g. <c>joy</c>).</param>
/// <param name="Label">A human-readable label (e.g. <c>Joy</c>).</param>
/// <param name="Description">An optional sentence on what it does.</param>
public sealed record GenerationChoice(string Key, string Label, string? Description = null);
