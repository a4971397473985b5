using Microsoft.Extensions.Options;

namespace Stefna.Generators.CustomPrompt;

/// <summary>Options of the Custom Prompt type. Validated at start-up.</summary>
public sealed class CustomPromptOptions
{
    /// <summary>The longest prompt accepted, in characters (1 to 100,000). Default 1,000; replaces the SDK-wide limit for this type.</summary>
    public int MaxPromptLength { get; set; } = 1000;
}

internal sealed class CustomPromptOptionsValidator : IValidateOptions<CustomPromptOptions>
{
    public ValidateOptionsResult Validate(string? name, CustomPromptOptions options) =>
        options.MaxPromptLength is < 1 or > 100_000
            ? ValidateOptionsResult.Fail($"CustomPrompt MaxPromptLength must be between 1 and 100000 (was {options.MaxPromptLength}).")
            : ValidateOptionsResult.Success;
}
