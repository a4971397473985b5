using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Generators;

namespace Stefna.Generators.CustomPrompt;

/// <summary>Options of <see cref="BlockedTermsPromptPolicy"/>.</summary>
public sealed class BlockedTermsPromptPolicyOptions
{
    /// <summary>Words or phrases a prompt must not contain. Matched case- and accent-insensitively on word boundaries.</summary>
    public IList<string> Terms { get; } = [];

    /// <summary>The generation types the policy applies to; empty means every type.</summary>
    public IList<string> Types { get; } = [];
}

/// <summary>
/// A simple prompt policy: rejects a prompt that contains one of a configured list of words or phrases, as a whole
/// word (so <c>ass</c> does not block <c>class</c>), ignoring case and accents. The rejection names the term found.
/// </summary>
public sealed class BlockedTermsPromptPolicy : IPromptPolicy
{
    private readonly IOptionsMonitor<BlockedTermsPromptPolicyOptions> _options;

    /// <summary>Creates the policy.</summary>
    /// <param name="options">The blocked terms.</param>
    public BlockedTermsPromptPolicy(IOptionsMonitor<BlockedTermsPromptPolicyOptions> options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
    }

    /// <inheritdoc />
    public ValueTask<PromptPolicyResult> EvaluateAsync(string type, string prompt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var options = _options.CurrentValue;
        if (options.Types.Count > 0 && !options.Types.Contains(type, StringComparer.OrdinalIgnoreCase))
        {
            return ValueTask.FromResult(PromptPolicyResult.Allowed);
        }

        var text = $" {Fold(prompt)} ";
        foreach (var term in options.Terms)
        {
            var folded = Fold(term);
            if (folded.Length > 0 && text.Contains($" {folded} ", StringComparison.Ordinal))
            {
                return ValueTask.FromResult(PromptPolicyResult.Reject($"it contains the blocked term '{term.Trim()}'. Rephrase the prompt without it.", "blocked_term"));
            }
        }

        return ValueTask.FromResult(PromptPolicyResult.Allowed);
    }

    // Lower-case, accents stripped, every run of non-letters/digits as one space: whole-word matching by substring.
    private static string Fold(string value)
    {
        var decomposed = value.Normalize(NormalizationForm.FormD);
        var builder = new StringBuilder(decomposed.Length);
        var space = false;
        foreach (var c in decomposed)
        {
            var category = CharUnicodeInfo.GetUnicodeCategory(c);
            if (category == UnicodeCategory.NonSpacingMark)
            {
                continue;
            }

            if (char.IsLetterOrDigit(c))
            {
                builder.Append(char.ToLowerInvariant(c));
                space = false;
            }
            else if (!space && builder.Length > 0)
            {
                builder.Append(' ');
                space = true;
            }
        }

        return builder.ToString().TrimEnd();
    }
}
