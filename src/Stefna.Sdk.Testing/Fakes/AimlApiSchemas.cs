using System.Text.Json;
using System.Text.Json.Nodes;

namespace Stefna.Sdk.Testing.Fakes;

/// <summary>
/// The request bodies of <c>POST /v1/images/generations</c> per model, as the AIML API documents them in the public
/// <c>aimlapi/api-docs</c> repository (<c>docs/api-references/image-models/flux/flux-schnell.json</c> at commit
/// <c>d944af4b7dc8f1903e89dfab0c4280e9f72c55df</c>, whose <c>Image.v1.GenerateImageDTO</c> lists every model's schema,
/// and <c>flux/flux-dev-image-to-image.json</c> at <c>27ac023d76c5de760b6a99774067ec94e52c1b27</c>). Each model accepts
/// exactly its documented fields: an undocumented one (e.g. <c>image_size</c> on <c>flux/dev/image-to-image</c>, whose
/// output follows the reference image) is an error, as is a model the table does not know. When the docs change,
/// change this table and say which commit it follows.
/// </summary>
internal static class AimlApiSchemas
{
    /// <summary>The docs revision the table follows.</summary>
    public const string Revision = "aimlapi/api-docs@d944af4b7dc8f1903e89dfab0c4280e9f72c55df (image models), @27ac023d76c5de760b6a99774067ec94e52c1b27 (flux-dev-image-to-image)";

    private static readonly string[] SizeNames = ["square_hd", "square", "portrait_4_3", "portrait_16_9", "landscape_4_3", "landscape_16_9"];

    private static readonly Field Prompt4000 = new("prompt", Kind.String, Max: 4000);
    private static readonly Field NumImages = new("num_images", Kind.Number, 1, 4);
    private static readonly Field Seed = new("seed", Kind.Integer, Min: 1);
    private static readonly Field Guidance = new("guidance_scale", Kind.Number, 1, 20);
    private static readonly Field Steps50 = new("num_inference_steps", Kind.Integer, 1, 50);
    private static readonly Field SafetyChecker = new("enable_safety_checker", Kind.Boolean);
    private static readonly Field SafetyTolerance = new("safety_tolerance", Kind.Enum, Values: ["1", "2", "3", "4", "5", "6"]);
    private static readonly Field OutputFormat = new("output_format", Kind.Enum, Values: ["jpeg", "png"]);
    private static readonly Field ImageUrl = new("image_url", Kind.Url);
    private static readonly Field ResponseFormat = new("response_format", Kind.Enum, Values: ["url", "b64_json"]);

    private static Field ImageSize(int min, int max) => new("image_size", Kind.ImageSize, min, max);

    /// <summary>Documented models and their fields (besides <c>model</c>); <see cref="Schema.Required"/> beyond <c>model</c>.</summary>
    public static readonly IReadOnlyDictionary<string, Schema> Models = new Dictionary<string, Schema>(StringComparer.Ordinal)
    {
        ["flux/schnell"] = new(["prompt"], [Prompt4000, ImageSize(64, 1536), new("num_inference_steps", Kind.Integer, 1, 12), SafetyChecker, NumImages, Seed]),
        ["flux/dev"] = new(["prompt"], [Prompt4000, ImageSize(512, 1536), Guidance, Steps50, SafetyChecker, NumImages, Seed]),
        ["flux-pro"] = new(["prompt"], [Prompt4000, ImageSize(256, 1440), Steps50, Guidance, SafetyTolerance, OutputFormat, NumImages, Seed]),
        ["flux-pro/v1.1"] = new(["prompt"], [Prompt4000, ImageSize(256, 1440), SafetyTolerance, OutputFormat, NumImages, Seed, SafetyChecker]),
        ["flux/dev/image-to-image"] = new(["prompt", "image_url"], [Prompt4000, Guidance, Steps50, SafetyChecker, NumImages, Seed, ImageUrl, new("strength", Kind.Number)]),
        ["flux/srpo/image-to-image"] = new(["prompt", "image_url"], [Prompt4000, NumImages, Seed, Steps50, Guidance, new("sync_mode", Kind.Boolean), SafetyChecker, OutputFormat, new("acceleration", Kind.Enum, Values: ["none", "regular", "high"]), ImageUrl, new("strength", Kind.Number, 0, 1)]),
        ["stable-diffusion-v3-medium"] = new(["prompt"], [Prompt4000, ImageSize(64, 1536), new("negative_prompt", Kind.String), new("prompt_expansion", Kind.Boolean), Guidance, Steps50, SafetyChecker, NumImages, Seed]),
        ["stable-diffusion-v35-large"] = new(["prompt"], [Prompt4000, ImageSize(64, 1536), new("negative_prompt", Kind.String), Guidance, Steps50, SafetyChecker, NumImages, Seed]),
        ["dall-e-2"] = new(["prompt"], [new("prompt", Kind.String, Max: 1000), new("n", Kind.Number, 1, 10), new("size", Kind.Enum, Values: ["1024x1024", "512x512", "256x256"]), ResponseFormat]),
        ["dall-e-3"] = new(["prompt"], [Prompt4000, new("n", Kind.Number, 1, 1), new("quality", Kind.Enum, Values: ["standard", "hd"]), new("size", Kind.Enum, Values: ["1024x1024", "1024x1792", "1792x1024"]), new("style", Kind.Enum, Values: ["vivid", "natural"]), ResponseFormat]),
    };

    /// <summary>Checks a body against its model's documented schema.</summary>
    public static List<string> Validate(JsonObject root)
    {
        var errors = new List<string>();
        if (root["model"] is not JsonValue modelValue || modelValue.GetValueKind() != JsonValueKind.String)
        {
            return ["model is required and must be a string"];
        }

        var model = modelValue.GetValue<string>();
        if (!Models.TryGetValue(model, out var schema))
        {
            return [$"model '{model}' is not one of the documented image models the emulator knows ({string.Join(", ", Models.Keys)})"];
        }

        var fields = schema.Fields.ToDictionary(f => f.Name, StringComparer.Ordinal);
        foreach (var (name, value) in root)
        {
            if (name == "model")
            {
                continue;
            }

            if (!fields.TryGetValue(name, out var field))
            {
                errors.Add($"{name} is not a documented field of {model}");
            }
            else if (Check(field, value) is { } problem)
            {
                errors.Add($"{name} {problem}");
            }
        }

        errors.AddRange(schema.Required.Where(r => !root.ContainsKey(r)).Select(r => $"{r} is required by {model}"));
        return errors;
    }

    private static string? Check(Field field, JsonNode? value)
    {
        var kind = value?.GetValueKind();
        switch (field.Kind)
        {
            case Kind.String:
                return kind != JsonValueKind.String || string.IsNullOrWhiteSpace(value!.GetValue<string>()) ? "must be a non-empty string"
                    : field.Max is { } max && value.GetValue<string>().Length > max ? $"must be at most {max} characters" : null;
            case Kind.Boolean:
                return kind is JsonValueKind.True or JsonValueKind.False ? null : "must be a boolean";
            case Kind.Enum:
                return kind == JsonValueKind.String && field.Values!.Contains(value!.GetValue<string>()) ? null : $"must be one of {string.Join(", ", field.Values!)}";
            case Kind.Url:
                // Documented as "format: uri", "the URL of the reference image": an http(s) URL the API fetches.
                return kind == JsonValueKind.String && Uri.TryCreate(value!.GetValue<string>(), UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
                    ? null : "must be an http(s) URL of the image (data: URLs are not documented)";
            case Kind.ImageSize:
                if (kind == JsonValueKind.String)
                {
                    return SizeNames.Contains(value!.GetValue<string>()) ? null : $"must be one of {string.Join(", ", SizeNames)} or {{width, height}}";
                }

                return value is JsonObject wh && Dimension(wh["width"], field) && Dimension(wh["height"], field)
                    ? null : $"must be a size name or {{width, height}}: integers from {field.Min} to {field.Max}, multiples of 32";
            default:
                if (kind != JsonValueKind.Number || (field.Kind == Kind.Integer && !long.TryParse(value!.ToJsonString(), out _)))
                {
                    return field.Kind == Kind.Integer ? "must be an integer" : "must be a number";
                }

                var number = value!.GetValue<double>();
                return number < (field.Min ?? double.MinValue) || number > (field.Max ?? double.MaxValue)
                    ? $"must be from {field.Min?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-∞"} to {field.Max?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "∞"}"
                    : null;
        }
    }

    private static bool Dimension(JsonNode? node, Field field) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && long.TryParse(v.ToJsonString(), out var n)
        && n >= field.Min && n <= field.Max && n % 32 == 0;

    internal enum Kind
    {
        String,
        Integer,
        Number,
        Boolean,
        Enum,
        Url,
        ImageSize,
    }

    internal sealed record Field(string Name, Kind Kind, double? Min = null, double? Max = null, string[]? Values = null);

    internal sealed record Schema(string[] Required, Field[] Fields);
}
