using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Stefna.Sdk;

namespace Stefna.Samples.Web;

/// <summary>
/// Describes the submit endpoint in the OpenAPI document from the registered types' definitions: the <c>{type}</c>
/// path parameter is an enum of the registered type names, and the form has one field per input the types declare
/// (<c>style</c>, <c>emotion</c>, <c>reaction</c>, ...) whose enum is that input's choices. A plug-in's inputs appear
/// without a change here.
/// </summary>
internal sealed class GenerationOpenApi : IOpenApiOperationTransformer
{
    /// <summary>The submit endpoint's operation id.</summary>
    public const string SubmitOperationId = "SubmitGeneration";

    /// <inheritdoc />
    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (operation.OperationId != SubmitOperationId)
        {
            return Task.CompletedTask;
        }

        var types = context.ApplicationServices.GetRequiredService<IGenerationPipeline>().Types;
        foreach (var parameter in (operation.Parameters ?? []).OfType<OpenApiParameter>().Where(p => p.Name == "type"))
        {
            parameter.Schema = Enum("The generation type.", types.Select(t => t.Name));
        }

        var form = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Properties = new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal)
            {
                ["image"] = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary", Description = "The source photo (PNG, JPEG, WebP or GIF)." },
                ["imageUrl"] = Text("Or a public http(s) URL of the source photo."),
                ["prompt"] = Text("A prompt."),
                ["tags"] = Text("Extra tags: comma-separated, or the field repeated."),
            },
        };
        foreach (var group in types.SelectMany(t => t.Inputs.Select(i => (Type: t, Input: i))).GroupBy(x => x.Input.Name, StringComparer.Ordinal))
        {
            var description = string.Join(" ", group.Select(x => $"{x.Input.Label} ({x.Type.Name}){(x.Input.Default is { } d ? $", default {d}" : string.Empty)}."));
            form.Properties[group.Key] = group.Key == "preset"
                ? Text(description + " Any type also takes its choice key here when its own field is absent.") // so no single enum fits
                : Enum(description, group.SelectMany(x => x.Input.Choices.Select(c => c.Key)));
        }

        // The endpoint declares no Accepts metadata (its matcher would answer another content type with the
        // framework's 415, without our code), so the body is described here.
        operation.RequestBody = new OpenApiRequestBody
        {
            Required = true,
            Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal)
            {
                ["multipart/form-data"] = new() { Schema = form },
                ["application/x-www-form-urlencoded"] = new() { Schema = form },
            },
        };

        return Task.CompletedTask;
    }

    private static OpenApiSchema Text(string description) => new() { Type = JsonSchemaType.String, Description = description };

    private static OpenApiSchema Enum(string description, IEnumerable<string> values) => new()
    {
        Type = JsonSchemaType.String,
        Description = description,
        Enum = [.. values.Distinct(StringComparer.Ordinal).Select(v => (JsonNode)JsonValue.Create(v))],
    };
}
