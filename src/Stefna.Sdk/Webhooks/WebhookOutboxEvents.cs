using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Stefna.Sdk.Webhooks;

/// <summary>Builds the outbox messages of a job's terminal status change, for stores implementing
/// <see cref="IWebhookOutbox"/> to insert in the transaction of that change.</summary>
public static class WebhookOutboxEvents
{
    /// <summary>The job meta key holding the job's own callback URL (from <see cref="GenerationRequest.WebhookUrl"/>).</summary>
    public const string CallbackMetaKey = "webhook_url";

    /// <summary>The messages of a job that has just reached a terminal status: one per URL (the job's callback URL and
    /// then each endpoint, duplicates once), all with the same body. Empty when the status is not terminal or there is
    /// no URL.</summary>
    /// <param name="job">The job as it is after the change (status, error, image URL).</param>
    /// <param name="endpoints">The application's endpoints for every event (<see cref="IWebhookOutbox.WebhookEndpoints"/>).</param>
    /// <param name="at">When the change happened.</param>
    /// <returns>The messages to insert.</returns>
    public static IReadOnlyList<WebhookMessage> Create(GenerationJob job, IReadOnlyList<string> endpoints, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(endpoints);
        var eventType = WebhookEventTypes.Of(job.Status);
        var callback = job.Meta.GetValueOrDefault(CallbackMetaKey);
        if (eventType is null || (callback is null && endpoints.Count == 0))
        {
            return [];
        }

        var urls = new List<string>(endpoints.Count + 1);
        if (!string.IsNullOrEmpty(callback))
        {
            urls.Add(callback);
        }

        foreach (var endpoint in endpoints)
        {
            if (!urls.Contains(endpoint, StringComparer.Ordinal))
            {
                urls.Add(endpoint);
            }
        }

        var payload = Payload(job, eventType, at);
        return [.. urls.Select(url => new WebhookMessage
        {
            Id = NewId(),
            Type = job.Type,
            JobId = job.Id,
            EventType = eventType,
            Url = url,
            Payload = payload,
            CreatedAt = at,
        })];
    }

    /// <summary>A new message id: <c>msg_</c> and 32 random hex digits.</summary>
    /// <returns>The id.</returns>
    public static string NewId() => "msg_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    // {"type":"generation.completed","timestamp":"2026-12-04T16:00:00.000Z","data":{"id":…,"type":…,"userId":…,"status":…,"imageUrl":…,"error":null}}
    private static string Payload(GenerationJob job, string eventType, DateTimeOffset at)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("type", eventType);
            json.WriteString("timestamp", at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            json.WriteStartObject("data");
            json.WriteString("id", job.Id);
            json.WriteString("type", job.Type);
            json.WriteString("userId", job.UserId);
            json.WriteString("status", job.Status.ToName());
            if (job.Status == GenerationStatus.Completed && job.ImageUrl is { } image)
            {
                json.WriteString("imageUrl", image);
            }
            else
            {
                json.WriteNull("imageUrl");
            }

            if (job.Status == GenerationStatus.Failed && job.Error is { } error)
            {
                json.WriteStartObject("error");
                json.WriteString("category", GenerationError.CategoryCode(error.Category));
                json.WriteString("code", error.Code);
                json.WriteString("message", error.Message);
                json.WriteEndObject();
            }
            else
            {
                json.WriteNull("error");
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
