using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Stefna.Samples.Web;

/// <summary>Completes the OpenAPI document where the endpoints' metadata cannot: the API-key security scheme required
/// by every <c>/api</c> operation and its 401 answer, the <c>Idempotency-Key</c> header of the submit, and the query
/// parameters of the feed (read from the query by hand so that bad values get our ProblemDetails).</summary>
internal sealed class ApiKeyOpenApi : IOpenApiDocumentTransformer
{
    /// <summary>The security scheme's name in the document.</summary>
    public const string SchemeName = "ApiKey";

    /// <inheritdoc />
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>(StringComparer.Ordinal);
        document.Components.SecuritySchemes[SchemeName] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = ApiKeyAuthenticationHandler.HeaderName,
            Description = "A key of Stefna:ApiKeys; its value is the user every call is scoped to.",
        };

        foreach (var (path, item) in document.Paths ?? [])
        {
            if (!path.StartsWith("/api/", StringComparison.Ordinal))
            {
                continue;
            }

            foreach (var (method, operation) in item.Operations ?? [])
            {
                operation.Security ??= [];
                operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SchemeName, document)] = [] });
                operation.Responses ??= [];
                operation.Responses.TryAdd("401", new OpenApiResponse { Description = "No API key, or an unknown one (ProblemDetails, code missing_api_key / unknown_api_key)." });
                operation.Parameters ??= [];
                if (operation.OperationId == GenerationOpenApi.SubmitOperationId)
                {
                    operation.Parameters.Add(Parameter("Idempotency-Key", ParameterLocation.Header, "Repeating a submit with the same key returns the first job (1 to 200 characters); the same key with another request is 409.", JsonSchemaType.String));
                }
                else if (path == "/api/feed" && method == HttpMethod.Get)
                {
                    operation.Parameters.Add(Parameter("type", ParameterLocation.Query, "Only these types: repeat the parameter or comma-separate.", JsonSchemaType.String));
                    operation.Parameters.Add(Parameter("tag", ParameterLocation.Query, "Only jobs with this tag.", JsonSchemaType.String));
                    operation.Parameters.Add(Parameter("status", ParameterLocation.Query, "Only jobs in this status: queued, processing, completed, failed or canceled.", JsonSchemaType.String));
                    operation.Parameters.Add(Parameter("limit", ParameterLocation.Query, $"The page size, 1 to {Stefna.Sdk.FeedQuery.MaxLimit}.", JsonSchemaType.Integer));
                    operation.Parameters.Add(Parameter("cursor", ParameterLocation.Query, "The nextCursor of the previous page.", JsonSchemaType.String));
                }
            }
        }

        return Task.CompletedTask;
    }

    private static OpenApiParameter Parameter(string name, ParameterLocation location, string description, JsonSchemaType type) => new()
    {
        Name = name,
        In = location,
        Required = false,
        Description = description,
        Schema = new OpenApiSchema { Type = type },
    };
}
