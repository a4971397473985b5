using Stefna.Sdk.Storage;
using Xunit;

namespace Stefna.Sdk.Testing;

// Facts on input every store answers the same way (each once differed between the SQLite and PostgreSQL stores).
public abstract partial class MediaStoreContractTests
{
    /// <summary>A job that was requeued with an error and then completed carries no error: the error described an
    /// earlier attempt, not the result.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task A_job_completed_after_a_requeue_carries_no_error()
    {
        var store = await NewStoreAsync();
        var job = await InsertAsync(store, NewJob(PlainType, BaseTime));
        var first = await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts);
        Assert.NotNull(first);
        var error = new GenerationError(GenerationErrorCategory.ProviderUnavailable, "provider_unavailable.http_503", "The provider answered 503.");
        Assert.True(await store.RequeueAsync(first, error, UtcNowMicroseconds().AddSeconds(-1), Ct));
        var second = await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts);
        Assert.NotNull(second);

        Assert.True(await store.CompleteAsync(second, new JobResult("file:///done.png", new Dictionary<string, string>()), Ct));

        var completed = await GetRequiredAsync(store, PlainType, job.Id);
        Assert.Equal(GenerationStatus.Completed, completed.Status);
        Assert.Null(completed.Error);
        Assert.Equal(2, completed.Attempts);
    }

    /// <summary>An insert that sets a column its type does not have is refused with an <see cref="ArgumentException"/>
    /// naming the column, and stores nothing (never silently dropped).</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task An_insert_with_a_column_the_type_does_not_have_is_refused()
    {
        var store = await NewStoreAsync();
        var job = NewJob(ColumnsType, BaseTime) with { Columns = new Dictionary<string, string?> { ["mood"] = "calm", ["colour"] = "red" } };

        var refused = await Assert.ThrowsAsync<ArgumentException>(() => store.InsertAsync(job, Ct));

        Assert.Contains("'colour'", refused.Message, StringComparison.Ordinal);
        Assert.Null(await store.GetAsync(ColumnsType.Name, job.Id, UserA, Ct));
    }

    /// <summary>A feed page size outside 1 to <see cref="FeedQuery.MaxLimit"/> is refused with an
    /// <see cref="ArgumentOutOfRangeException"/>, never clamped.</summary>
    /// <param name="limit">The page size asked for.</param>
    /// <returns>A task.</returns>
    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(FeedQuery.MaxLimit + 1)]
    [InlineData(100_000)]
    public async Task A_feed_page_size_out_of_range_is_refused(int limit)
    {
        var store = await NewStoreAsync();
        await InsertAsync(store, NewJob(PlainType, BaseTime));

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.QueryFeedAsync(new FeedQuery { UserId = UserA, Limit = limit }, Ct));
        Assert.Single((await store.QueryFeedAsync(new FeedQuery { UserId = UserA, Limit = FeedQuery.MaxLimit }, Ct)).Items);
    }

    /// <summary>Text with a NUL character or an unpaired surrogate, in any field, is refused with an
    /// <see cref="ArgumentException"/> and stores nothing (PostgreSQL cannot keep it; SQLite would keep it mangled).</summary>
    /// <param name="field">The field that carries the bad text.</param>
    /// <param name="flaw">What is wrong with it: <c>nul</c>, <c>high</c> (a high surrogate alone) or <c>low</c>
    /// (a low surrogate alone); the text is built here, since theory data cannot carry a lone surrogate intact.</param>
    /// <returns>A task.</returns>
    [Theory]
    [InlineData("user", "nul")]
    [InlineData("user", "high")]
    [InlineData("key", "nul")]
    [InlineData("key", "low")]
    [InlineData("tag", "nul")]
    [InlineData("prompt", "high")]
    [InlineData("meta", "nul")]
    [InlineData("column", "low")]
    public async Task Text_no_store_can_keep_is_refused_and_nothing_is_stored(string field, string flaw)
    {
        var bad = "text" + flaw switch { "nul" => "\0", "high" => "\ud83d", _ => "\udc08" } + "more";
        var store = await NewStoreAsync();
        var job = NewJob(ColumnsType, BaseTime);
        job = field switch
        {
            "user" => job with { UserId = bad },
            "key" => job with { IdempotencyKey = bad },
            "tag" => job with { Tags = ["fine", bad] },
            "prompt" => job with { Prompt = bad },
            "meta" => job with { Meta = new Dictionary<string, string> { ["origin"] = bad } },
            _ => job with { Columns = new Dictionary<string, string?> { ["mood"] = bad } },
        };

        await Assert.ThrowsAsync<ArgumentException>(() => store.InsertAsync(job, Ct));

        Assert.Null(await store.GetAsync(ColumnsType.Name, job.Id, UserA, Ct));
        Assert.Equal(0, await store.CountUnfinishedAsync(ColumnsType.Name, Ct));
        // A well-formed surrogate pair is text like any other.
        Assert.True(MediaStoreChecks.IsStorableText("a cat \ud83d\udc08"));
    }
}
