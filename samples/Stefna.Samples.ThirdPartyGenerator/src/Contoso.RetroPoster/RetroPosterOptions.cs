using Microsoft.Extensions.Options;

namespace Contoso.RetroPoster;

/// <summary>Options of the Retro Poster type (validated when the host starts).</summary>
public sealed class RetroPosterOptions
{
    /// <summary>The era used when a request names none. Default <c>fifties</c>.</summary>
    public string DefaultEra { get; set; } = "fifties";

    /// <summary>The longest headline printed on the poster, in characters. Default 40.</summary>
    public int MaxHeadlineLength { get; set; } = 40;
}

/// <summary>Checks <see cref="RetroPosterOptions"/> at start-up.</summary>
internal sealed class RetroPosterOptionsValidator : IValidateOptions<RetroPosterOptions>
{
    public ValidateOptionsResult Validate(string? name, RetroPosterOptions options)
    {
        var failures = new List<string>();
        if (!RetroPosterGenerator.Eras.ContainsKey(options.DefaultEra ?? string.Empty))
        {
            failures.Add($"RetroPoster: DefaultEra '{options.DefaultEra}' is not one of {string.Join(", ", RetroPosterGenerator.Eras.Keys)}.");
        }

        if (options.MaxHeadlineLength is < 1 or > 200)
        {
            failures.Add("RetroPoster: MaxHeadlineLength must be between 1 and 200.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
