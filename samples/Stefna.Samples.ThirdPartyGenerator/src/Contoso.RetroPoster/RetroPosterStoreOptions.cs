using Microsoft.Extensions.Options;

namespace Contoso.RetroPoster;

/// <summary>Where Retro Poster keeps its jobs when it runs on its own store (<c>UseRetroPosterStore</c>). Bound from
/// <c>Stefna:Types:retro-poster:Store</c> when the host binds configuration; validated when the host starts.</summary>
public sealed class RetroPosterStoreOptions
{
    /// <summary>The store's directory (one JSON document per job); created when missing. Required.</summary>
    public string? Directory { get; set; }
}

/// <summary>Checks <see cref="RetroPosterStoreOptions"/> at start-up.</summary>
internal sealed class RetroPosterStoreOptionsValidator : IValidateOptions<RetroPosterStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, RetroPosterStoreOptions options) =>
        string.IsNullOrWhiteSpace(options.Directory)
            ? ValidateOptionsResult.Fail($"RetroPoster: the store of '{name}' needs a Directory (Stefna:Types:{name}:Store:Directory).")
            : ValidateOptionsResult.Success;
}
