using Microsoft.Extensions.Options;
using Stefna.Sdk.Http;

namespace Stefna.Sdk.Providers.AimlApi;

/// <summary>The AIML API key as an <see cref="IAccessTokenSource"/>: read from the named options (or <c>AIMLAPI_KEY</c>)
/// on every refresh, so a rotated key in reloadable configuration is picked up after a 401.</summary>
internal sealed class AimlApiKeySource(IOptionsMonitor<AimlApiOptions> options, string optionsName) : IAccessTokenSource
{
    public ValueTask<AccessToken> GetTokenAsync(bool forceRefresh, CancellationToken cancellationToken)
    {
        var key = options.Get(optionsName).ResolveApiKey()
            ?? throw new GenerationException(GenerationErrorCategory.InvalidRequest, $"No AIML API key is configured: set AimlApiOptions.ApiKey or {AimlApiOptions.ApiKeyEnvironmentVariable}.", "invalid_request.no_api_key");
        if (!AimlApiOptionsValidator.IsHeaderSafe(key))
        {
            // A reloaded configuration can bring a broken key after start: fail the job once, do not retry it.
            throw new GenerationException(GenerationErrorCategory.InvalidRequest, $"The AIML API key (AimlApiOptions.ApiKey or {AimlApiOptions.ApiKeyEnvironmentVariable}) contains a character that cannot go in an HTTP header; copy the key again.", "invalid_request.bad_api_key");
        }

        return ValueTask.FromResult(AccessToken.NonExpiring(key));
    }

    public override string ToString() => "AimlApiKeySource { Key = *** }";
}
