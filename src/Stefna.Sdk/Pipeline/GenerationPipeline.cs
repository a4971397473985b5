using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stefna.Sdk.Assets;
using Stefna.Sdk.Configuration;
using Stefna.Sdk.Diagnostics;
using Stefna.Sdk.Generators;
using Stefna.Sdk.Imaging;
using Stefna.Sdk.Internal;
using Stefna.Sdk.Net;
using Stefna.Sdk.Storage;

namespace Stefna.Sdk.Pipeline;

/// <summary>The default <see cref="IGenerationPipeline"/>.</summary>
internal sealed class GenerationPipeline(
    GenerationTypeRegistry registry,
    StefnaInitializer initializer,
    MediaStoreRouter stores,
    IAssetStorage assets,
    ImageFetcher fetcher,
    Webhooks.WebhookUrlGuard webhooks,
    WorkSignals signals,
    StefnaMetrics metrics,
    JobWatchHub watchers,
    TimeProvider time,
    IOptions<StefnaOptions> options,
    ILogger<GenerationPipeline> logger) : IGenerationPipeline
{
    private const int MaxUserIdLength = 200;
    private const int MaxIdempotencyKeyLength = 200;
    private readonly StefnaOptions _options = options.Value;

    public IReadOnlyList<GenerationTypeDefinition> Types => registry.Definitions;

    public async Task<GenerationTicket> SubmitAsync(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var type = registry.Canonical(request.Type);
        var userId = RequireUser(request.UserId);
        RequireStorableText(request);
        if (request.IdempotencyKey is { Length: > MaxIdempotencyKeyLength } or { Length: 0 })
        {
            throw new GenerationValidationException("idempotencyKey", $"The idempotency key must be 1 to {MaxIdempotencyKeyLength} characters.", "bad_idempotency_key");
        }

        using var activity = StefnaTelemetry.ActivitySource.StartActivity("stefna.submit", ActivityKind.Producer);
        activity?.SetTag(StefnaTelemetry.TypeTag, type);
        try
        {
            return await SubmitCoreAsync(request, type, userId, activity, cancellationToken).ConfigureAwait(false);
        }
        catch (GenerationException ex) when (StefnaTelemetry.Failed(activity, ex.ToError()))
        {
            throw; // Not reached: the filter only marks the activity.
        }
    }

    private async Task<GenerationTicket> SubmitCoreAsync(GenerationRequest request, string type, string userId, Activity? activity, CancellationToken cancellationToken)
    {
        var generator = registry.GetGenerator(type);

        // Cheap checks first: the generator's validation needs no I/O.
        var spec = await generator.PrepareAsync(request, cancellationToken).ConfigureAwait(false);
        await initializer.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);

        // A file is read once, up front, so a repeated submit can be compared by content with the job it names.
        if (request.Image?.FilePath is { } path)
        {
            request = WithImageBytes(request, await ImageFileReader.ReadAsync(path, _options.MaxImageBytes, cancellationToken).ConfigureAwait(false));
        }

        if (request.WebhookUrl is { } webhookUrl)
        {
            await webhooks.CheckAsync(type, webhookUrl, cancellationToken).ConfigureAwait(false);
            spec = spec with { Meta = new Dictionary<string, string>(spec.Meta, StringComparer.Ordinal) { [Webhooks.WebhookOutboxEvents.CallbackMetaKey] = webhookUrl.AbsoluteUri } };
        }

        var fingerprint = request.IdempotencyKey is null ? null : IdempotencyFingerprint.Of(request);
        if (request.IdempotencyKey is not null
            && await stores.RecordsFor(type).FindByIdempotencyKeyAsync(type, userId, request.IdempotencyKey, cancellationToken).ConfigureAwait(false) is { } earlier)
        {
            IdempotencyFingerprint.EnsureSameRequest(earlier, spec, fingerprint!);
            return Ticket(earlier, existing: true);
        }

        if (fingerprint is not null)
        {
            spec = spec with { Meta = new Dictionary<string, string>(spec.Meta, StringComparer.Ordinal) { [IdempotencyFingerprint.MetaKey] = fingerprint } };
        }

        // The submit's trace context travels with the job, so the worker's activity links to it on any host.
        if ((activity ?? Activity.Current) is { IdFormat: ActivityIdFormat.W3C, Id: { } traceParent } traced)
        {
            var meta = new Dictionary<string, string>(spec.Meta, StringComparer.Ordinal) { [StefnaTelemetry.TraceParentMetaKey] = traceParent };
            if (traced.TraceStateString is { Length: > 0 } traceState)
            {
                meta[StefnaTelemetry.TraceStateMetaKey] = traceState;
            }

            spec = spec with { Meta = meta };
        }

        var image = await LoadImageAsync(request, generator.Definition, cancellationToken).ConfigureAwait(false);
        var id = Guid.CreateVersion7(time.GetUtcNow());
        activity?.SetTag("stefna.job.id", id);
        StoredAsset? source = null;
        try
        {
            if (image is not null)
            {
                source = await assets.SaveAsync(new AssetWriteRequest
                {
                    Content = image.Value.Bytes,
                    Info = image.Value.Info,
                    Kind = AssetKind.Source,
                    Type = type,
                    JobId = id,
                    UserId = userId,
                    Tags = spec.Tags,
                }, cancellationToken).ConfigureAwait(false);
            }

            var result = await stores.RecordsFor(type).InsertAsync(new NewGenerationJob
            {
                Id = id,
                Type = type,
                UserId = userId,
                Prompt = spec.Prompt,
                Preset = spec.Preset,
                SourceImageUrl = source?.Url,
                Tags = spec.Tags,
                Meta = spec.Meta,
                Columns = spec.Columns,
                IdempotencyKey = request.IdempotencyKey,
                CreatedAt = time.GetUtcNow(),
            }, cancellationToken).ConfigureAwait(false);

            if (!result.Created && source is not null)
            {
                // Another submit with the same idempotency key won the race: keep nothing of ours.
                await assets.DeleteAsync(source.Url, CancellationToken.None).ConfigureAwait(false);
            }

            if (!result.Created)
            {
                IdempotencyFingerprint.EnsureSameRequest(result.Job, spec, fingerprint!);
            }

            if (result.Created)
            {
                metrics.JobsSubmitted.Add(1, StefnaMetrics.TypeTags(type));
                Log.Submitted(logger, type, id, userId);
                signals.NotifyWork(type);
                watchers.Publish(new GenerationStatusChange { Type = type, Id = id, UserId = userId, Status = GenerationStatus.Queued, OccurredAt = result.Job.CreatedAt });
            }

            return Ticket(result.Job, existing: !result.Created);
        }
        catch when (source is not null)
        {
            // Nothing is left behind when the row could not be written.
            await TryDeleteAsync(source.Url).ConfigureAwait(false);
            throw;
        }
    }

    public async Task<GenerationJob?> GetStatusAsync(string type, Guid id, string userId, CancellationToken cancellationToken = default)
    {
        var canonical = registry.Canonical(type);
        var user = RequireUser(userId);
        await initializer.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        return await stores.RecordsFor(canonical).GetAsync(canonical, id, user, cancellationToken).ConfigureAwait(false);
    }

    public async Task<GenerationJob?> CancelAsync(string type, Guid id, string userId, CancellationToken cancellationToken = default)
    {
        var canonical = registry.Canonical(type);
        var user = RequireUser(userId);
        await initializer.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var job = await stores.RecordsFor(canonical).CancelAsync(canonical, id, user, cancellationToken).ConfigureAwait(false);
        if (job?.Status == GenerationStatus.Canceled)
        {
            signals.CancelRunning(id);
            signals.NotifyFinished(id);
            watchers.Publish(new GenerationStatusChange { Type = canonical, Id = id, UserId = user, Status = GenerationStatus.Canceled, Attempt = job.Attempts, Error = job.Error, OccurredAt = time.GetUtcNow() });
            Log.Canceled(logger, canonical, id, user);
            if (job.Attempts > 0)
            {
                // Attempts killed or cut off before the cancel may have stored results, and a canceled job references
                // none. (An attempt still running deletes its own once its completion finds the job canceled.)
                try
                {
                    await assets.DeleteAttemptResultsAsync(canonical, id, job.Attempts, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // Best effort: the cancel itself succeeded.
                }
            }

            if (job.ProviderJobId is { } providerJobId)
            {
                // Accepted by the provider (parked or being polled): ask it to stop too, where it can.
                try
                {
                    await registry.GetProvider(canonical).CancelAsync(providerJobId, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.ProviderCancelFailed(logger, ex, canonical, id);
                }
            }
        }

        return job;
    }

    public async Task<GenerationJob> WaitForCompletionAsync(string type, Guid id, string userId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var canonical = registry.Canonical(type);
        var user = RequireUser(userId);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var delay = TimeSpan.FromMilliseconds(25);
        try
        {
            while (true)
            {
                var finished = signals.FinishedTask(id);
                var job = await GetStatusAsync(canonical, id, user, deadline.Token).ConfigureAwait(false)
                    ?? throw new KeyNotFoundException($"No {canonical} job {id} for this user.");
                if (job.Status.IsTerminal())
                {
                    signals.ForgetFinished(id);
                    return job;
                }

                // Wake on an in-process completion, or poll (another host may be running the job).
                await Task.WhenAny(finished, Task.Delay(delay, time, deadline.Token)).ConfigureAwait(false);
                deadline.Token.ThrowIfCancellationRequested();
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 500));
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            signals.ForgetFinished(id);
            throw new TimeoutException($"The {canonical} job {id} did not finish within {timeout.TotalSeconds:0.#} s.");
        }
    }

    public async IAsyncEnumerable<GenerationJob> WatchAsync(string type, Guid id, string userId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var canonical = registry.Canonical(type);
        var user = RequireUser(userId);
        await initializer.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);

        // Subscribed before the first read: a change after that read began wakes this watcher, so none is missed.
        var watched = watchers.Subscribe(canonical, id, user);
        try
        {
            WatchRead? read = null;
            GenerationJob? last = null;
            while (true)
            {
                read = watched.Next(read);
                var job = await read.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                if (job is null)
                {
                    // Gone while watched (deleted): nothing more to tell.
                    _ = last ?? throw new KeyNotFoundException($"No {canonical} job {id} for this user.");
                    yield break;
                }

                if (last is null || Changed(last, job))
                {
                    last = job;
                    yield return job;
                }

                if (job.Status.IsTerminal())
                {
                    yield break;
                }

                await watched.WaitAsync(read, watchers.CurrentPollInterval(canonical), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            watchers.Unsubscribe(watched);
        }

        // What a watcher is told about; lease renewals and parking bookkeeping are not changes.
        static bool Changed(GenerationJob before, GenerationJob after) =>
            before.Status != after.Status || before.Attempts != after.Attempts || before.Error != after.Error || before.ImageUrl != after.ImageUrl;
    }

    public async Task<FeedPage> GetFeedAsync(FeedQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var user = RequireUser(query.UserId);
        if (query.Limit is < 1 or > FeedQuery.MaxLimit)
        {
            throw new GenerationValidationException("limit", $"The page size must be between 1 and {FeedQuery.MaxLimit}.", "bad_limit");
        }

        if (query.Cursor is not null && !FeedCursor.TryDecode(query.Cursor, out _))
        {
            throw new GenerationValidationException("cursor", "The cursor is not one this feed produced; start again without it.", "bad_cursor");
        }

        var types = query.Types is { Count: > 0 } ? [.. query.Types.Select(registry.Canonical).Distinct()] : registry.Names;
        await initializer.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        return await stores.QueryFeedAsync(query with { UserId = user, Types = types, Tag = query.Tag?.Trim().ToLowerInvariant() }, cancellationToken).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<GenerationJob> ReadFeedAsync(FeedQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var current = query;
        while (true)
        {
            var page = await GetFeedAsync(current, cancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items)
            {
                yield return item;
            }

            if (page.NextCursor is null)
            {
                yield break;
            }

            current = current with { Cursor = page.NextCursor };
        }
    }

    private async Task<(ReadOnlyMemory<byte> Bytes, ImageInfo Info)?> LoadImageAsync(GenerationRequest request, GenerationTypeDefinition definition, CancellationToken cancellationToken)
    {
        var input = request.Image;
        if (input is null)
        {
            return definition.RequiresSourceImage
                ? throw new GenerationValidationException("image", $"{definition.DisplayName} needs a source image.", "image_required")
                : null;
        }

        ReadOnlyMemory<byte> bytes;
        if (input.Bytes is { } inMemory)
        {
            bytes = inMemory;
        }
        else
        {
            bytes = await fetcher.FetchAsync(input.Url!, cancellationToken).ConfigureAwait(false);
        }

        if (bytes.Length > _options.MaxImageBytes)
        {
            throw new GenerationValidationException("image", $"The image is {bytes.Length:N0} bytes; the limit is {_options.MaxImageBytes:N0}.", "image_too_large");
        }

        if (bytes.Length == 0)
        {
            throw new GenerationValidationException("image", "The image is empty.", "image_empty");
        }

        var info = ImageInspector.Inspect(bytes.Span, _options.MaxImagePixels);
        // A user's photo is stored (and later served) without what it says about them: EXIF (GPS position, camera,
        // times), XMP, IPTC, comments. Orientation and colour profiles stay.
        return (ImageMetadataStripper.Strip(bytes, info.Format), info);
    }

    private async Task TryDeleteAsync(string url)
    {
        try
        {
            await assets.DeleteAsync(url, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Best effort: the original failure is what the caller needs to see.
        }
    }

    private static string RequireUser(string? userId)
    {
        if (string.IsNullOrWhiteSpace(userId))
        {
            throw new GenerationValidationException("userId", "A user id is required.", "user_required");
        }

        if (userId.Length > MaxUserIdLength || userId.Any(char.IsControl) || !MediaStoreChecks.IsStorableText(userId))
        {
            throw new GenerationValidationException("userId", $"The user id must be at most {MaxUserIdLength} printable characters.", "bad_user");
        }

        return userId;
    }

    // Text no store can keep (a NUL, an unpaired surrogate) is the caller's mistake on every store alike, so it is
    // refused here as invalid_request before anything is written; the stores refuse it too (MediaStoreChecks). The
    // prompt and tags are the generator's to check (GeneratorBase: prompt_bad_unicode, tag_invalid), after it has
    // counted the tags; the user id is checked by RequireUser.
    private static void RequireStorableText(GenerationRequest request)
    {
        Check("idempotencyKey", request.IdempotencyKey);
        Check("preset", request.Preset);
        Check("imageUrl", request.Image?.Url?.OriginalString);
        Check("fileName", request.Image?.FileName);
        foreach (var (key, value) in request.Options)
        {
            Check("options", key);
            Check("options", value);
        }

        static void Check(string field, string? text)
        {
            if (!MediaStoreChecks.IsStorableText(text))
            {
                throw new GenerationValidationException(field, $"The {field} contains a NUL character or an unpaired surrogate.", "bad_text");
            }
        }
    }

    private static GenerationRequest WithImageBytes(GenerationRequest request, byte[] bytes) => new()
    {
        Type = request.Type,
        UserId = request.UserId,
        Image = ImageInput.FromBytes(bytes, request.Image?.FileName),
        Prompt = request.Prompt,
        Preset = request.Preset,
        Options = request.Options,
        Tags = request.Tags,
        IdempotencyKey = request.IdempotencyKey,
        WebhookUrl = request.WebhookUrl,
    };

    private static GenerationTicket Ticket(GenerationJob job, bool existing) => new(job.Id, job.Type, job.Status, job.CreatedAt, existing);
}
