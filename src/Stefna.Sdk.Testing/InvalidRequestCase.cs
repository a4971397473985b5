namespace Stefna.Sdk.Testing;

/// <summary>A request a generator must refuse, and how it must say so.</summary>
/// <param name="Description">What is wrong with it, shown when the check fails (e.g. <c>unknown style</c>).</param>
/// <param name="Request">The request.</param>
/// <param name="Field">The <see cref="GenerationValidationException.Field"/> the refusal must name.</param>
/// <param name="Code">The expected <see cref="GenerationException.Code"/>: either the full code
/// (<c>invalid_request.unknown_style</c>) or its suffix (<c>unknown_style</c>); <see langword="null"/> accepts any
/// <c>invalid_request.*</c> code.</param>
public sealed record InvalidRequestCase(string Description, GenerationRequest Request, string Field, string? Code = null)
{
    /// <inheritdoc />
    public override string ToString() => Description;
}
