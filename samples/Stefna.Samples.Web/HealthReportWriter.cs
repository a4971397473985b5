using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Stefna.Sdk.Diagnostics;

namespace Stefna.Samples.Web;

/// <summary>Writes the SDK's health report (<c>AddStefnaHealthChecks()</c>) as JSON: the overall status and each
/// type's status, description and data, keyed by type.</summary>
internal static class HealthReportWriter
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var body = new
        {
            status = report.Status.ToString(),
            totalDurationMs = report.TotalDuration.TotalMilliseconds,
            types = report.Entries.ToDictionary(
                e => e.Key.StartsWith(StefnaHealthCheckOptions.NamePrefix, StringComparison.Ordinal) ? e.Key[StefnaHealthCheckOptions.NamePrefix.Length..] : e.Key,
                e => new { status = e.Value.Status.ToString(), description = e.Value.Description, durationMs = e.Value.Duration.TotalMilliseconds, data = e.Value.Data }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, JsonOptions), context.RequestAborted);
    }
}
