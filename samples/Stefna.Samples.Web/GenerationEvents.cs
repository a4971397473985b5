using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Stefna.Sdk;

namespace Stefna.Samples.Web;

/// <summary>
/// <c>GET /api/generations/{type}/{id}/events</c>: a job's states as server-sent events, from
/// <see cref="IGenerationPipeline.WatchAsync"/>. Each state is an event <c>status</c> whose data is the job as
/// <c>GET /api/generations/{type}/{id}</c> shows it; the stream ends after the final one (completed, failed, canceled).
/// A comment line (<c>: heartbeat</c>) goes out while nothing changes, so proxies keep the connection open; a client that
/// leaves stops the watch. Written by hand rather than with <c>TypedResults.ServerSentEvents</c>, which cannot send
/// comments.
/// </summary>
internal static class GenerationEvents
{
    /// <summary>The event name of a job state.</summary>
    public const string StatusEvent = "status";

    /// <summary>Maps the endpoint in the (authorized) <c>/api</c> group.</summary>
    public static void MapGenerationEvents(this RouteGroupBuilder api) =>
        api.MapGet("/generations/{type}/{id}/events", EventsAsync)
            .WithName("WatchGeneration")
            .WithSummary("Follow one of your jobs as server-sent events: an event 'status' (data: the job, as GET /api/generations/{type}/{id} shows it) at once and at every change, until the final state; ': heartbeat' comments in between. Send the API key header as on every /api route (read it with fetch, not EventSource).")
            .Produces<JobResponse>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

    private static async Task<IResult> EventsAsync(
        string type,
        string id,
        ClaimsPrincipal user,
        IGenerationPipeline pipeline,
        MediaAccess media,
        IOptions<WebOptions> web,
        IOptions<JsonOptions> json,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var jobId))
        {
            return GenerationApi.BadId(id);
        }

        // The first state is read before the response starts, so a job the user does not have is a plain 404.
        var watch = pipeline.WatchAsync(type, jobId, user.UserId(), cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            await watch.MoveNextAsync().ConfigureAwait(false);
        }
        catch (KeyNotFoundException)
        {
            await watch.DisposeAsync().ConfigureAwait(false);
            return GenerationApi.NotFound(type, jobId);
        }
        catch
        {
            await watch.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return new EventStream(watch, media, user.UserId(), web.Value.EventStreamHeartbeat, json.Value.SerializerOptions, time);
    }

    private sealed class EventStream(IAsyncEnumerator<GenerationJob> watch, MediaAccess media, string userId, TimeSpan heartbeat, JsonSerializerOptions json, TimeProvider time) : IResult
    {
        private static readonly byte[] Heartbeat = Encoding.UTF8.GetBytes(": heartbeat\n\n");

        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            var aborted = httpContext.RequestAborted;
            await using var _ = watch.ConfigureAwait(false);
            response.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache";
            response.Headers["X-Accel-Buffering"] = "no"; // nginx: pass each event on at once
            httpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            Task<bool>? next = null;
            try
            {
                var sequence = 0;
                await WriteAsync(response, watch.Current, ++sequence, aborted).ConfigureAwait(false);
                while (true)
                {
                    next = watch.MoveNextAsync().AsTask();
                    while (!await WaitAsync(next, aborted).ConfigureAwait(false))
                    {
                        await response.Body.WriteAsync(Heartbeat, aborted).ConfigureAwait(false);
                        await response.Body.FlushAsync(aborted).ConfigureAwait(false);
                    }

                    if (!await next.ConfigureAwait(false))
                    {
                        return;
                    }

                    await WriteAsync(response, watch.Current, ++sequence, aborted).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (aborted.IsCancellationRequested)
            {
                // The client left: the watch stops with the request.
            }
            finally
            {
                // The watch may only be disposed once its pending move has ended (it ends at once: it shares the token).
                if (next is { IsCompleted: false })
                {
                    await next.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
                }
            }
        }

        // Whether the next state came before the heartbeat interval passed.
        private async Task<bool> WaitAsync(Task<bool> next, CancellationToken aborted)
        {
            using var delay = CancellationTokenSource.CreateLinkedTokenSource(aborted);
            var winner = await Task.WhenAny(next, Task.Delay(heartbeat, time, delay.Token)).ConfigureAwait(false);
            await delay.CancelAsync().ConfigureAwait(false);
            aborted.ThrowIfCancellationRequested();
            return winner == next;
        }

        private async Task WriteAsync(HttpResponse response, GenerationJob job, int sequence, CancellationToken aborted)
        {
            // JSON holds no raw line break, so the data fits one "data:" line.
            var data = JsonSerializer.Serialize(JobResponse.From(job, media, userId), json);
            await response.WriteAsync($"event: {StatusEvent}\nid: {sequence}\ndata: {data}\n\n", aborted).ConfigureAwait(false);
            await response.Body.FlushAsync(aborted).ConfigureAwait(false);
        }
    }
}
