namespace Stefna.Sdk.Generators;

/// <summary>
/// A rule a free-text prompt must pass before a job is accepted (blocked terms, a moderation service, a tenant's
/// own rules). Register any number with <c>AddPromptPolicy&lt;T&gt;()</c>; generators that take free text apply
/// every registered policy through <see cref="PromptPolicies.EnsureAllowedAsync"/>. Implementations must be thread-safe.
/// </summary>
public interface IPromptPolicy
{
    /// <summary>Decides whether a prompt may be used.</summary>
    /// <param name="type">The generation type's name, so a policy may apply to some types only.</param>
    /// <param name="prompt">The trimmed, normalised prompt.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>Allowed, or rejected with a reason a person can act on.</returns>
    ValueTask<PromptPolicyResult> EvaluateAsync(string type, string prompt, CancellationToken cancellationToken);
}

/// <summary>A prompt policy's verdict.</summary>
public sealed record PromptPolicyResult
{
    private PromptPolicyResult(bool isAllowed, string? reason, string? code)
    {
        IsAllowed = isAllowed;
        Reason = reason;
        Code = code;
    }

    /// <summary>The prompt may be used.</summary>
    public static PromptPolicyResult Allowed { get; } = new(true, null, null);

    /// <summary>Whether the prompt may be used.</summary>
    public bool IsAllowed { get; }

    /// <summary>Why the prompt was rejected (shown to the user), or <see langword="null"/> when allowed.</summary>
    public string? Reason { get; }

    /// <summary>A stable code suffix for the rejection, e.g. <c>blocked_term</c>; <see langword="null"/> when allowed.</summary>
    public string? Code { get; }

    /// <summary>The prompt must not be used.</summary>
    /// <param name="reason">Why, in words a person can act on (do not echo secrets or whole prompts).</param>
    /// <param name="code">A stable code suffix; default <c>prompt_rejected</c>.</param>
    /// <returns>The verdict.</returns>
    public static PromptPolicyResult Reject(string reason, string code = "prompt_rejected")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        ArgumentException.ThrowIfNullOrWhiteSpace(code);
        return new(false, reason, code);
    }
}

/// <summary>Applies prompt policies.</summary>
public static class PromptPolicies
{
    /// <summary>Runs every policy in order and refuses the prompt at the first rejection.</summary>
    /// <param name="policies">The policies (typically every registered <see cref="IPromptPolicy"/>).</param>
    /// <param name="type">The generation type's name.</param>
    /// <param name="prompt">The prompt.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>A task that completes when every policy allowed the prompt.</returns>
    /// <exception cref="GenerationValidationException">A policy rejected the prompt; the message carries its reason and
    /// the code is <c>invalid_request.</c> plus the policy's code.</exception>
    public static async ValueTask EnsureAllowedAsync(this IEnumerable<IPromptPolicy> policies, string type, string prompt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(policies);
        ArgumentNullException.ThrowIfNull(prompt);
        foreach (var policy in policies)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = await policy.EvaluateAsync(type, prompt, cancellationToken).ConfigureAwait(false);
            if (result is null || !result.IsAllowed)
            {
                var reason = result?.Reason ?? "The prompt was rejected by a prompt policy.";
                throw new GenerationValidationException("prompt", $"The prompt was rejected: {reason}", result?.Code ?? "prompt_rejected");
            }
        }
    }
}
