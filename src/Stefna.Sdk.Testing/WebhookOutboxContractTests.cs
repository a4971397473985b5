using System.Text.Json;
using Stefna.Sdk.Storage;
using Stefna.Sdk.Webhooks;
using Xunit;

namespace Stefna.Sdk.Testing;

/// <summary>
/// The behaviour of a store that keeps a webhook outbox (the optional role <see cref="IWebhookOutbox"/>), as xunit
/// facts. A store that implements the role derives a test class from this one, beside its
/// <see cref="MediaStoreContractTests"/> class and with the same <see cref="StoreContractBase.CreateStoreAsync"/>;
/// every fact fails for a store without the role.
/// </summary>
/// <remarks>The facts: completion, failure and cancellation each write one message for a job with a callback URL (none
/// for a lost write or a job without a URL), in the same write as the status change; claimed messages are leased and
/// their outcome is recorded only with the attempt that claimed them; pruning deletes finished messages older than its cut,
/// up to its limit, and never a pending one.</remarks>
public abstract class WebhookOutboxContractTests : StoreContractBase
{
    /// <summary>Completion, failure and cancellation each write one message for a job with a callback URL, with the
    /// event, the job and the payload; a write whose lease was lost writes none; a job without a URL writes none.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Webhook_outbox_gets_one_message_per_terminal_change_of_a_job_with_a_callback()
    {
        var (store, outbox) = await NewStoreWithAsync<IWebhookOutbox>();
        var url = $"https://hooks.example.com/{Guid.NewGuid():N}";
        var jobs = new List<GenerationJob>();
        for (var i = 0; i < 4; i++)
        {
            var job = NewJob(PlainType, BaseTime.AddYears(-20).AddSeconds(i));
            jobs.Add(await InsertAsync(store, i == 3 ? job : job with { Meta = new Dictionary<string, string>(job.Meta) { [WebhookOutboxEvents.CallbackMetaKey] = url } }));
        }

        var leases = (await store.ClaimAsync(PlainType.Name, 50, LongLease, MaxAttempts, Ct)).Where(l => jobs.Any(j => j.Id == l.Id)).OrderBy(l => l.Job.CreatedAt).ToList();
        Assert.Equal(4, leases.Count);
        var result = new JobResult("https://cdn.example.com/result.png", new Dictionary<string, string>());
        Assert.Empty(await store.CompleteManyAsync(PlainType.Name, [new JobCompletion(leases[0], result), new JobCompletion(leases[3], result)], Ct));
        var error = new GenerationError(GenerationErrorCategory.ContentRejected, "content_rejected.refused", "The provider refused the prompt.");
        Assert.True(await store.FailAsync(leases[1], error, Ct));
        Assert.Equal(GenerationStatus.Canceled, (await store.CancelAsync(PlainType.Name, jobs[2].Id, UserA, Ct))!.Status);
        Assert.Equal(GenerationStatus.Canceled, (await store.CancelAsync(PlainType.Name, jobs[2].Id, UserA, Ct))!.Status); // again: no new event
        Assert.False(await store.FailAsync(leases[0], error, Ct)); // lost: already completed, no event

        var messages = (await outbox.ClaimWebhooksAsync(100, LongLease, Ct)).Where(m => m.Url == url).OrderBy(m => jobs.FindIndex(j => j.Id == m.JobId)).ToList();
        Assert.Equal([WebhookEventTypes.Completed, WebhookEventTypes.Failed, WebhookEventTypes.Canceled], messages.Select(m => m.EventType));
        Assert.Equal(jobs.Take(3).Select(j => j.Id), messages.Select(m => m.JobId));
        Assert.All(messages, m => Assert.Equal((1, PlainType.Name), (m.Attempts, m.Type)));
        Assert.Equal(3, messages.Select(m => m.Id).Distinct(StringComparer.Ordinal).Count());

        using var completed = JsonDocument.Parse(messages[0].Payload);
        Assert.Equal(result.ImageUrl, completed.RootElement.GetProperty("data").GetProperty("imageUrl").GetString());
        using var failed = JsonDocument.Parse(messages[1].Payload);
        Assert.Equal(error.Code, failed.RootElement.GetProperty("data").GetProperty("error").GetProperty("code").GetString());
        using var canceled = JsonDocument.Parse(messages[2].Payload);
        Assert.Equal("canceled", canceled.RootElement.GetProperty("data").GetProperty("status").GetString());
    }

    /// <summary>A claimed message is not claimed again while its lease holds; its outcome is recorded only with the
    /// attempt that claimed it; a retry that is due is claimed again with the same id and the next attempt number.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Webhook_outbox_claims_are_leased_and_guarded_by_their_attempt()
    {
        var (store, outbox) = await NewStoreWithAsync<IWebhookOutbox>();
        var url = $"https://hooks.example.com/{Guid.NewGuid():N}";
        outbox.WebhookEndpoints = [url];
        var job = await InsertAsync(store, NewJob(PlainType, BaseTime.AddYears(-20)));
        var lease = (await store.ClaimAsync(PlainType.Name, 50, LongLease, MaxAttempts, Ct)).Single(l => l.Id == job.Id);
        Assert.True(await store.CompleteAsync(lease, new JobResult("https://cdn.example.com/a.png", new Dictionary<string, string>()), Ct));
        outbox.WebhookEndpoints = [];

        var first = Assert.Single(await outbox.ClaimWebhooksAsync(100, LongLease, Ct), m => m.Url == url);
        Assert.DoesNotContain(await outbox.ClaimWebhooksAsync(100, LongLease, Ct), m => m.Url == url);

        // Due again at once: claimed again, same id, attempt 2; the first claim can no longer record anything.
        Assert.True(await outbox.RetryWebhookAsync(first, DateTimeOffset.UtcNow.AddYears(-1), "HTTP 500", Ct));
        var second = Assert.Single(await outbox.ClaimWebhooksAsync(100, LongLease, Ct), m => m.Url == url);
        Assert.Equal((first.Id, 2, first.Payload), (second.Id, second.Attempts, second.Payload));
        Assert.False(await outbox.MarkWebhookDeliveredAsync(first, Ct));
        Assert.False(await outbox.RetryWebhookAsync(first, DateTimeOffset.UtcNow, "stale", Ct));
        Assert.True(await outbox.MarkWebhookDeliveredAsync(second, Ct));
        Assert.False(await outbox.AbandonWebhookAsync(second, "after delivery", Ct));

        await outbox.RetryWebhookAsync(second, DateTimeOffset.UtcNow.AddYears(-1), "ignored", Ct);
        Assert.DoesNotContain(await outbox.ClaimWebhooksAsync(100, LongLease, Ct), m => m.Url == url);
    }

    /// <summary>Pruning deletes delivered and given-up messages that finished before the cut (a given-up one at the
    /// due time of its last attempt), at most the limit per call, and returns how many; newer finished messages stay,
    /// and pending messages, due or leased, stay whatever their times.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Webhook_outbox_prunes_finished_messages_older_than_the_cut_up_to_the_limit()
    {
        var (store, outbox) = await NewStoreWithAsync<IWebhookOutbox>();
        var url = $"https://hooks.example.com/{Guid.NewGuid():N}";
        outbox.WebhookEndpoints = [url];
        var jobs = new List<GenerationJob>();
        for (var i = 0; i < 6; i++)
        {
            jobs.Add(await InsertAsync(store, NewJob(PlainType, BaseTime.AddYears(-20).AddSeconds(i))));
        }

        var leases = (await store.ClaimAsync(PlainType.Name, 50, LongLease, MaxAttempts, Ct)).Where(l => jobs.Any(j => j.Id == l.Id)).ToList();
        Assert.Equal(6, leases.Count);
        var result = new JobResult("https://cdn.example.com/result.png", new Dictionary<string, string>());
        Assert.Empty(await store.CompleteManyAsync(PlainType.Name, [.. leases.Select(l => new JobCompletion(l, result))], Ct));
        outbox.WebhookEndpoints = [];
        var claimed = (await outbox.ClaimWebhooksAsync(100, LongLease, Ct)).Where(m => m.Url == url).OrderBy(m => jobs.FindIndex(j => j.Id == m.JobId)).ToList();
        Assert.Equal(6, claimed.Count);

        // Given up: its last attempt due 3 days ago (old) and 1 hour ago (new); delivered now, twice; pending and due
        // since 3 days; leased, its attempt due 3 days ago.
        var now = DateTimeOffset.UtcNow;
        var oldAbandoned = await ReclaimAsync(claimed[0], now.AddDays(-3));
        Assert.True(await outbox.AbandonWebhookAsync(oldAbandoned, "HTTP 500", Ct));
        var newAbandoned = await ReclaimAsync(claimed[1], now.AddHours(-1));
        Assert.True(await outbox.AbandonWebhookAsync(newAbandoned, "HTTP 500", Ct));
        Assert.True(await outbox.MarkWebhookDeliveredAsync(claimed[2], Ct));
        Assert.True(await outbox.MarkWebhookDeliveredAsync(claimed[3], Ct));
        var leased = await ReclaimAsync(claimed[5], now.AddDays(-3));
        Assert.True(await outbox.RetryWebhookAsync(claimed[4], now.AddDays(-3), "HTTP 500", Ct)); // pending, due

        // Before 2 days ago: only the old given-up message; the pending and leased ones, as old, stay.
        Assert.Equal(1, await outbox.PruneWebhooksAsync(now.AddDays(-2), 100, Ct));
        Assert.Equal(0, await outbox.PruneWebhooksAsync(now.AddDays(-2), 100, Ct));

        // Before a minute from now: the other three finished ones, at most the limit per call.
        Assert.Equal(2, await outbox.PruneWebhooksAsync(now.AddMinutes(1), 2, Ct));
        Assert.Equal(1, await outbox.PruneWebhooksAsync(now.AddMinutes(1), 2, Ct));
        Assert.Equal(0, await outbox.PruneWebhooksAsync(now.AddYears(1), 100, Ct));

        // The pending message is still claimed, the leased one still recorded with its claim.
        Assert.True(await outbox.MarkWebhookDeliveredAsync(leased, Ct));
        var pending = Assert.Single(await outbox.ClaimWebhooksAsync(100, LongLease, Ct), m => m.Url == url);
        Assert.Equal((claimed[4].Id, 2), (pending.Id, pending.Attempts));
        Assert.Equal(1, await outbox.PruneWebhooksAsync(now.AddYears(1), 100, Ct)); // the formerly leased one, now delivered
        Assert.True(await outbox.MarkWebhookDeliveredAsync(pending, Ct));
        Assert.Equal(1, await outbox.PruneWebhooksAsync(now.AddYears(1), 100, Ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => outbox.PruneWebhooksAsync(now, 0, Ct));

        // A retry due at the given time, claimed again: its attempt is due then.
        async Task<WebhookMessage> ReclaimAsync(WebhookMessage message, DateTimeOffset due)
        {
            Assert.True(await outbox.RetryWebhookAsync(message, due, "HTTP 500", Ct));
            return Assert.Single(await outbox.ClaimWebhooksAsync(100, LongLease, Ct), m => m.Id == message.Id);
        }
    }
}
