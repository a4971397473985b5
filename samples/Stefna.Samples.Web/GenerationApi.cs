using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Stefna.Generators.Presets;
using Stefna.Sdk;
using Stefna.Sdk.Configuration;

namespace Stefna.Samples.Web;

/// <summary>The HTTP API over <see cref="IGenerationPipeline"/>. Every endpoint is user-scoped by the API key.</summary>
internal static class GenerationApi
{
    /// <summary>Maps the <c>/api</c> endpoints.</summary>
    public static void MapStefnaApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").RequireAuthorization().WithTags("Stefna");
        api.MapPost("/generations/{type}", SubmitAsync)
            .WithName(GenerationOpenApi.SubmitOperationId)
            .WithSummary("Submit a generation: a form with image (or imageUrl), prompt, tags and the type's own inputs (see GET /api/types).")
            .Produces<SubmitResponse>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        api.MapGet("/generations/{type}/{id}", GetAsync)
            .WithName("GetGeneration")
            .WithSummary("Read one of your jobs.")
            .Produces<JobResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGenerationEvents();
        api.MapDelete("/generations/{type}/{id}", CancelAsync)
            .WithName("CancelGeneration")
            .WithSummary("Cancel one of your jobs that has not finished.")
            .Produces<JobResponse>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        api.MapGet("/feed", FeedAsync)
            .WithName("GetFeed")
            .WithSummary("Your jobs, newest first, across types; filter by type (repeat or comma-separate), tag and status.")
            .Produces<FeedResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        api.MapGet("/presets", Presets)
            .WithName("GetPresets")
            .WithSummary("The professional presets active in the week of a date (YYYY-MM-DD, UTC; today when omitted).")
            .Produces<PresetsResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        api.MapGet("/types", (TypeCatalog catalog) => TypedResults.Ok(catalog.Describe()))
            .WithName("GetTypes")
            .WithSummary("The registered generation types and the options each understands.");
    }

    private static async Task<IResult> SubmitAsync(
        string type,
        HttpContext http,
        ClaimsPrincipal user,
        IGenerationPipeline pipeline,
        IOptions<StefnaOptions> sdk,
        IOptions<WebOptions> web,
        CancellationToken cancellationToken)
    {
        var request = http.Request;
        if (!request.HasFormContentType)
        {
            return Problems.Problem(
                StatusCodes.Status415UnsupportedMediaType,
                "Unsupported media type",
                $"Send the request as multipart/form-data (or application/x-www-form-urlencoded with imageUrl), not '{request.ContentType ?? "no content type"}'.",
                "unsupported_media_type");
        }

        // The body may hold one image of at most MaxImageBytes plus the other fields.
        var limit = sdk.Value.MaxImageBytes + web.Value.FormOverheadBytes;
        if (request.ContentLength > limit)
        {
            return TooLarge(limit);
        }

        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit;
        }

        http.Features.Set<IFormFeature>(new FormFeature(request, new Microsoft.AspNetCore.Http.Features.FormOptions
        {
            MultipartBodyLengthLimit = limit,
            ValueCountLimit = 256,
            ValueLengthLimit = 64 * 1024,
        }));
        if (MultipartBoundaryProblem(request) is { } boundaryProblem)
        {
            return boundaryProblem;
        }

        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException ex) when (!IsSizeLimit(ex))
        {
            // The form reader's structural errors (a part without Content-Disposition, a header section that never
            // ends, a boundary it refuses): the client sent a malformed body.
            return Malformed(ex.Message);
        }
        catch (IOException) when (!cancellationToken.IsCancellationRequested)
        {
            // "Unexpected end of stream": no closing boundary, or no first boundary at all.
            return Malformed("The multipart body ended before its closing boundary (or never started with a boundary).");
        }

        var image = await ReadImageAsync(form, cancellationToken).ConfigureAwait(false);
        var options = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var key in pipeline.Types.Where(t => t.Name == type).SelectMany(t => t.Inputs).Select(i => i.Name).Where(n => n != "preset"))
        {
            if (Field(form, key) is { } value)
            {
                options[key] = value;
            }
        }

        var ticket = await pipeline.SubmitAsync(new GenerationRequest
        {
            Type = type,
            UserId = user.UserId(),
            Image = image,
            Prompt = Field(form, "prompt"),
            Preset = Field(form, "preset"),
            Options = options,
            Tags = SplitList(form["tags"]),
            IdempotencyKey = request.Headers.TryGetValue("Idempotency-Key", out var idempotency) ? idempotency.ToString() : null,
        }, cancellationToken).ConfigureAwait(false);

        return TypedResults.Accepted(
            $"/api/generations/{Uri.EscapeDataString(ticket.Type)}/{ticket.Id}",
            new SubmitResponse(ticket.Id, ticket.Type, ticket.Status.ToName(), ticket.CreatedAt, ticket.IsExisting));
    }

    private static async Task<IResult> GetAsync(string type, string id, ClaimsPrincipal user, IGenerationPipeline pipeline, MediaAccess media, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var jobId))
        {
            return BadId(id);
        }

        var job = await pipeline.GetStatusAsync(type, jobId, user.UserId(), cancellationToken).ConfigureAwait(false);
        return job is null ? NotFound(type, jobId) : TypedResults.Ok(JobResponse.From(job, media, user.UserId()));
    }

    private static async Task<IResult> CancelAsync(string type, string id, ClaimsPrincipal user, IGenerationPipeline pipeline, MediaAccess media, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var jobId))
        {
            return BadId(id);
        }

        var job = await pipeline.CancelAsync(type, jobId, user.UserId(), cancellationToken).ConfigureAwait(false);
        if (job is null)
        {
            return NotFound(type, jobId);
        }

        return job.Status == GenerationStatus.Canceled
            ? TypedResults.Ok(JobResponse.From(job, media, user.UserId()))
            : Problems.Problem(StatusCodes.Status409Conflict, "Already finished", $"The {job.Type} job {job.Id} is already {job.Status.ToName()} and cannot be canceled.", "already_finished");
    }

    private static async Task<IResult> FeedAsync(HttpContext http, ClaimsPrincipal user, IGenerationPipeline pipeline, MediaAccess media, CancellationToken cancellationToken)
    {
        var query = http.Request.Query;
        GenerationStatus? status = null;
        if (Value(query["status"]) is { } statusText)
        {
            if (!GenerationStatusNames.TryParse(statusText, out var parsed))
            {
                return Problems.Problem(StatusCodes.Status400BadRequest, "Invalid request", $"Unknown status '{statusText}'. Use queued, processing, completed, failed or canceled.", "invalid_request.unknown_status", "status");
            }

            status = parsed;
        }

        var limit = 20;
        if (Value(query["limit"]) is { } limitText && !int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit))
        {
            return Problems.Problem(StatusCodes.Status400BadRequest, "Invalid request", $"The limit must be a whole number from 1 to {FeedQuery.MaxLimit}.", "invalid_request.bad_limit", "limit");
        }

        var types = SplitList(query["type"]);
        var page = await pipeline.GetFeedAsync(new FeedQuery
        {
            UserId = user.UserId(),
            Types = types.Count > 0 ? types : null,
            Tag = Value(query["tag"]),
            Status = status,
            Limit = limit,
            Cursor = Value(query["cursor"]),
        }, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(new FeedResponse([.. page.Items.Select(j => JobResponse.From(j, media, user.UserId()))], page.NextCursor));
    }

    private static IResult Presets(string? date, IPresetRotation rotation)
    {
        PresetWeek week;
        if (string.IsNullOrWhiteSpace(date))
        {
            week = rotation.GetWeek();
        }
        else if (DateOnly.TryParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            week = rotation.GetWeek(day);
        }
        else
        {
            return Problems.Problem(StatusCodes.Status400BadRequest, "Invalid request", $"'{date}' is not a date: use YYYY-MM-DD.", "invalid_request.bad_date", "date");
        }

        return TypedResults.Ok(new PresetsResponse(
            week.Week.ToString(),
            week.Week.Start,
            week.NextRotation,
            [.. week.Active.Select(p => new PresetResponse(p.Key, p.Name, p.Description))]));
    }

    private static async Task<ImageInput?> ReadImageAsync(IFormCollection form, CancellationToken cancellationToken)
    {
        var file = form.Files.GetFile("image");
        var url = Field(form, "imageUrl");
        if (file is not null && url is not null)
        {
            throw new GenerationValidationException("image", "Send either an image file or an imageUrl, not both.", "image_and_url");
        }

        if (file is not null)
        {
            using var buffer = new MemoryStream((int)Math.Min(file.Length, int.MaxValue));
            await file.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            return ImageInput.FromBytes(buffer.ToArray(), file.FileName);
        }

        if (url is null)
        {
            return null;
        }

        return Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? ImageInput.FromUrl(uri)
            : throw new GenerationValidationException("imageUrl", $"'{url}' is not an absolute http(s) URL.", "bad_image_url");
    }

    // RFC 2046 §5.1.1: a boundary is 1 to 70 characters. ASP.NET accepts up to 128 and answers a missing one with an
    // exception, so the boundary is checked here, before the body is read.
    private const int MaxBoundaryLength = 70;

    private static IResult? MultipartBoundaryProblem(HttpRequest request)
    {
        if (!Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(request.ContentType, out var type) || !type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var boundary = Microsoft.Net.Http.Headers.HeaderUtilities.RemoveQuotes(type.Boundary);
        return boundary.Length is 0 or > MaxBoundaryLength
            ? Malformed($"The multipart boundary must be 1 to {MaxBoundaryLength} characters (RFC 2046); it is {boundary.Length}.")
            : null;
    }

    // The form reader reports its size limits (body length, value count and length) as InvalidDataException too; those
    // stay 413 (handled by GenerationExceptionHandler). Its messages are the only way to tell them apart.
    private static bool IsSizeLimit(InvalidDataException exception) =>
        exception.Message.Contains("limit", StringComparison.OrdinalIgnoreCase) && !exception.Message.Contains("header", StringComparison.OrdinalIgnoreCase);

    private static IResult Malformed(string detail) =>
        Problems.Problem(StatusCodes.Status400BadRequest, "Malformed request body", detail, "invalid_request.malformed_body");

    // Browsers submit empty inputs as empty strings: treat them as left out.
    private static string? Field(IFormCollection form, string name) => Value(form[name]);

    private static string? Value(StringValues values) => values.Count == 0 || string.IsNullOrEmpty(values[0]) ? null : values[0];

    private static List<string> SplitList(StringValues values) =>
        [.. values.SelectMany(v => (v ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))];

    internal static IResult BadId(string id) =>
        Problems.Problem(StatusCodes.Status400BadRequest, "Invalid request", $"'{id}' is not a job id (expected a UUID).", "invalid_request.bad_id", "id");

    internal static IResult NotFound(string type, Guid id) =>
        Problems.Problem(StatusCodes.Status404NotFound, "Not found", $"You have no {type} job {id}.", "not_found");

    private static IResult TooLarge(long limit) =>
        Problems.Problem(StatusCodes.Status413PayloadTooLarge, "Request too large", $"The request body is larger than {limit:N0} bytes (the image limit plus form overhead).", "request_too_large");
}
