using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Registry;
using Polly.Timeout;
using Stefna.Sdk.Assets;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Diagnostics;
using Stefna.Sdk.Imaging;
using Stefna.Sdk.Internal;
using Stefna.Sdk.Providers;
using Stefna.Sdk.Storage;

namespace Stefna.Sdk.Pipeline;

/// <summary>Runs one claimed job: provider (through the type's resilience pipeline), storage, completion.</summary>
internal sealed class JobRunner(
    GenerationTypeRegistry registry,
    MediaStoreRouter stores,
    IAssetStorage assets,
    ResiliencePipelineProvider<string> resilience,
    IHttpClientFactory httpClients,
    WorkSignals signals,
    StefnaMetrics metrics,
    JobWatchHub watchers,
    TimeProvider time,
    IOptions<StefnaOptions> options,
    ILogger<JobRunner> logger)
{
    internal const string DownloadClientName = "Stefna.ProviderDownload";
    private readonly StefnaOptions _options = options.Value;

    /// <summary>Runs one attempt to its end, whatever the outcome, then reports the end to the job's owner. Started
    /// without being awaited by the type's producer; it yields first, so a batch of jobs starts without running each
    /// one's first steps inline.</summary>
    public async Task RunAsync(RunningJob running, CancellationToken stoppingToken)
    {
        var lease = running.Lease;
        var job = lease.Job;
        try
        {
            await Task.Yield();
            // Its own trace, linked to the submit's (stored with the job), whichever host submitted it.
            using var activity = StefnaTelemetry.ActivitySource.StartActivity("stefna.generate", ActivityKind.Consumer, default(ActivityContext), links: StefnaTelemetry.LinksFrom(job.Meta));
            activity?.SetTag(StefnaTelemetry.TypeTag, job.Type);
            activity?.SetTag("stefna.job.id", job.Id);
            activity?.SetTag("stefna.job.attempt", lease.Attempt);
            var started = time.GetTimestamp();
            StoredAsset? stored = null;
            try
            {
                var generated = await GenerateAndStoreAsync(running, running.Token).ConfigureAwait(false);
                stored = generated?.Asset;
                if (generated is not { } result)
                {
                    // Parked: the provider is working on it; the row says when to look again. Nothing is held here.
                }
                else if (await running.CompleteAsync(result.Result).ConfigureAwait(false))
                {
                    // Earlier attempts that stored a result and were killed or cut off before completing left files no
                    // row references (each attempt names its own); the job is completed, so they can go.
                    if (lease.Attempt > 1)
                    {
                        await TryDeleteAttemptResultsAsync(job, lease.Attempt - 1).ConfigureAwait(false);
                    }

                    var elapsed = time.GetElapsedTime(started);
                    metrics.JobsCompleted.Add(1, StefnaMetrics.TypeTags(job.Type));
                    metrics.JobDuration.Record(elapsed.TotalSeconds, StefnaMetrics.TypeTags(job.Type));
                    Log.Completed(logger, job.Type, job.Id, (long)elapsed.TotalMilliseconds, lease.Attempt);
                    Changed(lease, GenerationStatus.Completed, null, result.Result.ImageUrl);
                }
                else
                {
                    // The lease was lost (expired and re-claimed, or the job canceled): keep no second copy. The asset is
                    // named by job id and attempt, so this deletes only what this attempt stored, never the image of the
                    // attempt that completed the job.
                    await TryDeleteAsync(result.Asset.Url).ConfigureAwait(false);
                    Log.Discarded(logger, job.Type, job.Id);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                // Host shutting down: hand the job back at once rather than waiting for the lease to expire, and give the
                // attempt back, since the job did not fail (restarts must not exhaust MaxAttempts). Renewals stop first:
                // after the release the next claim reuses this attempt number, so this lease must write nothing more.
                running.StopRenewing();
                if (job.ProviderJobId is { } providerJobId && stores.ParkingFor(lease.Type) is { } parking)
                {
                    // Already at the provider: park it due now, so any host resumes polling it (never submits it again).
                    var now = time.GetUtcNow();
                    if (await SafeStoreCallAsync(() => parking.ParkAsync(lease, providerJobId, now, job.ProviderDeadline ?? now + _options.GenerationTimeout, CancellationToken.None)).ConfigureAwait(false))
                    {
                        Log.Released(logger, job.Type, job.Id, lease.Attempt);
                    }
                }
                else if (await SafeStoreCallAsync(() => stores.QueueFor(lease.Type).ReleaseAsync(lease, CancellationToken.None)).ConfigureAwait(false))
                {
                    Log.Released(logger, job.Type, job.Id, lease.Attempt);
                    Changed(lease with { Job = job with { Attempts = lease.Attempt - 1 } }, GenerationStatus.Queued, job.Error, null);
                }
            }
            catch (OperationCanceledException) when (running.IsCancellationRequested)
            {
                // Canceled by its user, or the batch renewal found the lease lost: the row already says so.
                Log.Discarded(logger, job.Type, job.Id);
            }
            catch (LeaseLostException)
            {
                // Recording the provider's job id found the lease lost: another attempt (or the user) owns the row now.
                Log.Discarded(logger, job.Type, job.Id);
            }
            catch (Exception ex)
            {
                // Recording the result failed (the database went away mid-completion, say): once the row says for
                // certain that the job was requeued or failed, this attempt's result is referenced by nothing.
                var error = Classify(ex);
                StefnaTelemetry.Failed(activity, error);
                if (await HandleFailureAsync(lease, error, ex).ConfigureAwait(false) && stored is not null)
                {
                    await TryDeleteAsync(stored.Url).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex)
        {
            Log.Unexpected(logger, ex, job.Type, job.Id);
        }
        finally
        {
            signals.NotifyFinished(job.Id);
            running.End();
        }
    }

    /// <returns>The stored result, or <see langword="null"/> when the job was parked at an asynchronous provider.</returns>
    private async Task<(JobResult Result, StoredAsset Asset)?> GenerateAndStoreAsync(RunningJob running, CancellationToken cancellationToken)
    {
        var lease = running.Lease;
        var job = lease.Job;
        ImageContent? source = null;
        if (job.SourceImageUrl is { } sourceUrl)
        {
            var bytes = await assets.ReadAsync(sourceUrl, cancellationToken).ConfigureAwait(false);
            source = new ImageContent(bytes, ImageInspector.Inspect(bytes.Span, _options.MaxImagePixels));
        }

        ProviderRequest request;
        try
        {
            request = registry.GetGenerator(job.Type).CreateProviderRequest(job, source);
        }
        catch (Exception ex) when (ex is not GenerationException and not OperationCanceledException)
        {
            throw new GenerationException(GenerationErrorCategory.Internal, $"The {job.Type} generator could not build the request: {ex.Message}", innerException: ex);
        }

        if (request.SourceImageUrl is null && job.SourceImageUrl is { } url && url.StartsWith("http", StringComparison.OrdinalIgnoreCase))
        {
            request = request with { SourceImageUrl = url };
        }

        var image = await CallProviderAsync(running, request, cancellationToken).ConfigureAwait(false);
        if (image is null)
        {
            return null;
        }

        var content = image.Bytes ?? await DownloadAsync(image.Url ?? throw new GenerationException(GenerationErrorCategory.ProviderError, "The provider returned neither image bytes nor a URL."), cancellationToken).ConfigureAwait(false);
        if (!ImageInspector.TryInspect(content.Span, out var info) || info is null)
        {
            throw new GenerationException(GenerationErrorCategory.ProviderError, "The provider returned data that is not a valid PNG, JPEG, WebP or GIF image.", "provider_error.not_an_image");
        }

        StoredAsset asset;
        try
        {
            asset = await assets.SaveAsync(new AssetWriteRequest
            {
                Content = content,
                Info = info,
                Kind = AssetKind.Result,
                Type = job.Type,
                JobId = job.Id,
                Attempt = lease.Attempt,
                UserId = job.UserId,
                Tags = job.Tags,
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not GenerationException and not OperationCanceledException)
        {
            throw new GenerationException(GenerationErrorCategory.StorageFailure, $"The image could not be stored: {ex.Message}", innerException: ex);
        }

        var meta = new Dictionary<string, string>(image.Meta, StringComparer.Ordinal)
        {
            ["asset_id"] = asset.AssetId,
            ["width"] = (asset.Width ?? info.Width).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["height"] = (asset.Height ?? info.Height).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["format"] = asset.Format ?? info.Extension,
        };
        meta.TryAdd("provider", registry.GetProvider(job.Type).Name); // a fallback list's member names itself in image.Meta
        return (new JobResult(asset.Url, meta), asset);
    }

    /// <returns>The image, or <see langword="null"/> when the job was parked.</returns>
    private async Task<ProviderImage?> CallProviderAsync(RunningJob running, ProviderRequest request, CancellationToken cancellationToken)
    {
        var lease = running.Lease;
        var provider = registry.GetProvider(lease.Type);
        var pipeline = resilience.GetPipeline<ProviderResponse>(lease.Type);
        var response = lease.Job.ProviderJobId is { } resumed
            ? await pipeline.ExecuteAsync((p, ct) => p.Provider.PollAsync(p.Id, p.Request, ct), (Provider: provider, Id: resumed, Request: request), cancellationToken).ConfigureAwait(false)
            : await pipeline.ExecuteAsync((p, ct) => p.Provider.SubmitAsync(p.Request, ct), (Provider: provider, Request: request), cancellationToken).ConfigureAwait(false);

        if (response is ProviderResponse.Pending accepted && stores.ParkingFor(lease.Type) is { } parking)
        {
            await ParkAsync(parking, running, accepted).ConfigureAwait(false);
            return null;
        }

        // A store that cannot park: wait for the provider job inside the attempt, holding its place and lease.
        var deadline = time.GetUtcNow() + _options.GenerationTimeout;
        var recorded = lease.Job.ProviderJobId;
        while (response is ProviderResponse.Pending pending)
        {
            if (recorded != pending.ProviderJobId)
            {
                if (!await stores.QueueFor(lease.Type).SetProviderJobIdAsync(lease, pending.ProviderJobId, cancellationToken).ConfigureAwait(false))
                {
                    throw new LeaseLostException();
                }

                recorded = pending.ProviderJobId;
            }

            if (time.GetUtcNow() >= deadline)
            {
                throw new GenerationException(GenerationErrorCategory.Timeout, $"The provider did not finish within {_options.GenerationTimeout.TotalSeconds:0} s (last status '{pending.ProviderStatus}').");
            }

            await Task.Delay(pending.RetryAfter ?? _options.ProviderPollInterval, time, cancellationToken).ConfigureAwait(false);
            response = await pipeline.ExecuteAsync((p, ct) => p.Provider.PollAsync(p.Id, p.Request, ct), (Provider: provider, Id: pending.ProviderJobId, Request: request), cancellationToken).ConfigureAwait(false);
        }

        return ((ProviderResponse.Completed)response).Image;
    }

    /// <summary>Parks a job the provider accepted (or still works on): the row keeps the provider's job id, the next
    /// check and the deadline, and the lease is given up, so the job holds no memory or in-flight place until any host's
    /// poller takes it again.</summary>
    private async Task ParkAsync(IJobParking parking, RunningJob running, ProviderResponse.Pending pending)
    {
        var job = running.Lease.Job;
        var now = time.GetUtcNow();
        var deadline = job.ProviderJobId == pending.ProviderJobId && job.ProviderDeadline is { } known ? known : now + _options.GenerationTimeout;
        if (now >= deadline)
        {
            // For good: trying again would only poll the same provider job past its deadline.
            throw new GenerationException(GenerationErrorCategory.Timeout, $"The provider did not finish within {_options.GenerationTimeout.TotalSeconds:0} s (last status '{pending.ProviderStatus}').", ProviderDeadlineCode);
        }

        var wait = pending.RetryAfter is { } hint && hint > TimeSpan.Zero ? hint : _options.ProviderPollInterval;
        var next = now + wait < deadline ? now + wait : deadline;

        // Not canceled by the host stopping: the provider holds the job now, and only the row remembers its id.
        running.StopRenewing();
        if (!await parking.ParkAsync(running.Lease, pending.ProviderJobId, next, deadline, CancellationToken.None).ConfigureAwait(false))
        {
            throw new LeaseLostException();
        }

        running.Parked(next);
        metrics.JobsParked.Add(1, StefnaMetrics.TypeTags(job.Type));
        Log.Parked(logger, job.Type, job.Id, pending.ProviderStatus, wait);
    }

    private async Task<ReadOnlyMemory<byte>> DownloadAsync(Uri url, CancellationToken cancellationToken)
    {
        try
        {
            using var client = httpClients.CreateClient(DownloadClientName);
            using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new GenerationException(GenerationErrorCategory.ProviderUnavailable, $"Downloading the generated image answered {(int)response.StatusCode}.");
            }

            // Capped while streaming: a declared length over the limit fails at once, and a missing or lying one
            // stops the read as soon as the limit is passed, so a huge body is never buffered.
            var limit = _options.MaxImageBytes * 4;
            if (response.Content.Headers.ContentLength > limit)
            {
                throw TooLarge();
            }

            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    throw TooLarge();
                }

                buffer.Write(chunk, 0, read);
            }

            return buffer.ToArray();
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            // IOException: the connection broke while the body was being read (ReadAsByteArrayAsync wrapped that in an
            // HttpRequestException; reading the stream directly does not).
            throw new GenerationException(GenerationErrorCategory.ProviderUnavailable, $"Downloading the generated image failed: {ex.Message}", innerException: ex);
        }

        static GenerationException TooLarge() => new(GenerationErrorCategory.ProviderError, "The generated image is larger than the SDK accepts.");
    }

    // Whether the row now says requeued or failed (the lease-guarded write went through).
    private async Task<bool> HandleFailureAsync(JobLease lease, GenerationError error, Exception exception)
    {
        var job = lease.Job;
        if (error.Category == GenerationErrorCategory.Internal)
        {
            Log.Unexpected(logger, exception, job.Type, job.Id);
        }

        var retryable = error.Category is GenerationErrorCategory.ProviderUnavailable or GenerationErrorCategory.Timeout or GenerationErrorCategory.StorageFailure
            && error.Code != CircuitOpenCode
            && error.Code != ProviderDeadlineCode
            && lease.Attempt < _options.MaxAttempts;
        if (retryable)
        {
            var delay = TimeSpan.FromTicks(_options.RetryBackoff.Ticks * (1L << Math.Min(lease.Attempt - 1, 16)));
            if (await SafeStoreCallAsync(() => stores.QueueFor(lease.Type).RequeueAsync(lease, error, time.GetUtcNow() + delay, CancellationToken.None)).ConfigureAwait(false))
            {
                metrics.JobsRetried.Add(1, StefnaMetrics.TypeTags(job.Type));
                Log.Retrying(logger, job.Type, job.Id, lease.Attempt, error.Code, delay, error.Message);
                Changed(lease, GenerationStatus.Queued, error, null);
                return true;
            }

            return false;
        }

        if (await SafeStoreCallAsync(() => stores.QueueFor(lease.Type).FailAsync(lease, error, CancellationToken.None)).ConfigureAwait(false))
        {
            var tags = StefnaMetrics.TypeTags(job.Type);
            tags.Add(StefnaTelemetry.ErrorCategoryTag, GenerationError.CategoryCode(error.Category));
            metrics.JobsFailed.Add(1, tags);
            Log.Failed(logger, job.Type, job.Id, lease.Attempt, error.Code, error.Message);
            Changed(lease, GenerationStatus.Failed, error, null);

            // Failed for good: no row references a result of any of its attempts.
            await TryDeleteAttemptResultsAsync(job, lease.Attempt).ConfigureAwait(false);
            return true;
        }

        return false;
    }

    private void Changed(JobLease lease, GenerationStatus status, GenerationError? error, string? imageUrl) =>
        watchers.Publish(new GenerationStatusChange
        {
            Type = lease.Type, Id = lease.Id, UserId = lease.Job.UserId, Status = status, Attempt = lease.Attempt, Error = error, ImageUrl = imageUrl,
            OccurredAt = time.GetUtcNow(),
        });

    internal const string CircuitOpenCode = "provider_unavailable.circuit_open";

    internal const string ProviderDeadlineCode = "timeout.provider_deadline";

    // A job's error is shown to its user: no server path in it (see ServerPaths).
    internal static GenerationError Classify(Exception exception) => ClassifyCore(exception) is var e && ServerPaths.Redact(e.Message) is var m && m != e.Message ? e with { Message = m } : e;

    private static GenerationError ClassifyCore(Exception exception) => exception switch
    {
        GenerationException g => g.ToError(),
        BrokenCircuitException => new(GenerationErrorCategory.ProviderUnavailable, CircuitOpenCode, "The provider is failing repeatedly; its circuit is open, so this job failed fast. Try again shortly."),
        TimeoutRejectedException t => new(GenerationErrorCategory.Timeout, "timeout", $"The provider did not answer in time ({t.Timeout.TotalSeconds:0.#} s)."),
        System.Data.Common.DbException d => new(GenerationErrorCategory.StorageFailure, "storage_failure.database", $"The job store could not be reached: {d.Message}"),
        HttpRequestException h => new(GenerationErrorCategory.ProviderUnavailable, "provider_unavailable", $"The provider could not be reached: {h.Message}"),
        TimeoutException t => new(GenerationErrorCategory.Timeout, "timeout", t.Message),
        _ => new(GenerationErrorCategory.Internal, "internal", $"Unexpected error: {exception.Message}"),
    };

    /// <summary>A write guarded by the lease found it lost: the attempt stops and leaves the row alone.</summary>
    private sealed class LeaseLostException : Exception
    {
        public LeaseLostException()
            : base("The job's lease was lost.")
        {
        }
    }

    private static async Task<bool> SafeStoreCallAsync(Func<Task<bool>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The store is unreachable; the lease will expire and another attempt will pick the job up.
            return false;
        }
    }

    /// <summary>Deletes, best effort, the results every attempt of these jobs may have stored: jobs that ended without
    /// one (failed by the store for exhausting their attempts, or canceled).</summary>
    internal async Task DeleteResultsOfAsync(IReadOnlyList<GenerationJob> jobs)
    {
        foreach (var job in jobs)
        {
            if (job.Attempts > 0)
            {
                await TryDeleteAttemptResultsAsync(job, job.Attempts).ConfigureAwait(false);
            }
        }
    }

    private async Task TryDeleteAttemptResultsAsync(GenerationJob job, int throughAttempt)
    {
        try
        {
            await assets.DeleteAttemptResultsAsync(job.Type, job.Id, throughAttempt, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Best effort.
        }
    }

    private async Task TryDeleteAsync(string url)
    {
        try
        {
            await assets.DeleteAsync(url, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Best effort.
        }
    }
}
