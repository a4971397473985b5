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
/// word (so <c>ass</c> does not block <c>class</c>), ignoring case and accents, and comparing Unicode skeletons
/// (<see cref="PromptText.Skeleton"/>), so zero-width characters, soft hyphens, fullwidth letters and Cyrillic or Greek
/// look-alikes do not hide a term. The rejection names the term found.
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

    // The UTS #39 skeleton (NFKC, invisible characters dropped, lower-case, look-alikes mapped, accents stripped; see
    // PromptText.Skeleton), every run of non-letters/digits as one space: whole-word matching by substring.
    private static string Fold(string value)
    {
        var skeleton = PromptText.Skeleton(value);
        var builder = new StringBuilder(skeleton.Length);
        var space = false;
        foreach (var c in skeleton)
        {
            if (char.IsLetterOrDigit(c))
            {
                builder.Append(c);
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
