using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Stefna.Sdk;

namespace Stefna.Samples.Web;

/// <summary>Builds the API's ProblemDetails answers.</summary>
internal static class Problems
{
    /// <summary>A problem with a stable <c>code</c> extension (and <c>field</c>, when a request field is at fault).</summary>
    public static IResult Problem(int status, string title, string detail, string code, string? field = null)
    {
        var extensions = new Dictionary<string, object?> { ["code"] = code };
        if (field is not null)
        {
            extensions["field"] = field;
        }

        return Results.Problem(detail: detail, statusCode: status, title: title, extensions: extensions);
    }

    /// <summary>The HTTP status for a failure category.</summary>
    public static int StatusFor(GenerationException exception) => exception switch
    {
        UnknownGenerationTypeException => StatusCodes.Status404NotFound,
        IdempotencyConflictException => StatusCodes.Status409Conflict,
        GenerationValidationException => StatusCodes.Status400BadRequest,
        _ => exception.Category switch
        {
            GenerationErrorCategory.InvalidRequest => StatusCodes.Status400BadRequest,
            GenerationErrorCategory.ContentRejected => StatusCodes.Status422UnprocessableEntity,
            GenerationErrorCategory.Canceled => StatusCodes.Status409Conflict,
            GenerationErrorCategory.ProviderUnavailable => StatusCodes.Status503ServiceUnavailable,
            GenerationErrorCategory.ProviderError => StatusCodes.Status502BadGateway,
            GenerationErrorCategory.Timeout => StatusCodes.Status504GatewayTimeout,
            _ => StatusCodes.Status500InternalServerError,
        },
    };
}

/// <summary>Turns the SDK's exceptions (and oversized or malformed request bodies) into ProblemDetails.</summary>
internal sealed class GenerationExceptionHandler(IProblemDetailsService problems, ILogger<GenerationExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ProblemDetails details;
        switch (exception)
        {
            case GenerationException g:
                var status = Problems.StatusFor(g);
                details = new ProblemDetails
                {
                    Status = status,
                    Title = g switch
                    {
                        UnknownGenerationTypeException => "Unknown generation type",
                        IdempotencyConflictException => "Idempotency key reused",
                        GenerationValidationException => "Invalid request",
                        _ => GenerationError.CategoryCode(g.Category).Replace('_', ' '),
                    },
                    Detail = g.Message,
                    Extensions = { ["code"] = g.Code, ["category"] = GenerationError.CategoryCode(g.Category) },
                };
                if (g is GenerationValidationException v)
                {
                    details.Extensions["field"] = v.Field;
                }

                if (status >= 500)
                {
                    Log.GenerationFailure(logger, g.Code, g);
                }

                break;
            case BadHttpRequestException bad:
                details = new ProblemDetails
                {
                    Status = bad.StatusCode,
                    Title = bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? "Request too large" : "Bad request",
                    Detail = bad.Message,
                    Extensions = { ["code"] = bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? "request_too_large" : "bad_request" },
                };
                break;
            case InvalidDataException data:
                // The form reader's own limits (multipart section too long, too many values).
                details = new ProblemDetails
                {
                    Status = StatusCodes.Status413PayloadTooLarge,
                    Title = "Request too large",
                    Detail = data.Message,
                    Extensions = { ["code"] = "request_too_large" },
                };
                break;
            default:
                return false;
        }

        httpContext.Response.StatusCode = details.Status!.Value;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = details, Exception = exception }).ConfigureAwait(false);
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "A generation call failed: {Code}")]
    public static partial void GenerationFailure(ILogger logger, string code, Exception exception);
}
