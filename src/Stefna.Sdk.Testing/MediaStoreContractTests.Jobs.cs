using Stefna.Sdk.Storage;
using Xunit;

namespace Stefna.Sdk.Testing;

// Facts on inserting and reading jobs: round trips, user scoping, idempotency keys.
public abstract partial class MediaStoreContractTests
{
    /// <summary>SQL metacharacters that must be stored as plain text.</summary>
    protected const string SqlInjection = "'; DROP TABLE x;--";

    /// <summary>Every field written by an insert reads back unchanged, however odd its text.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Insert_and_get_round_trip_every_field()
    {
        var store = await NewStoreAsync();
        var job = new NewGenerationJob
        {
            Id = Guid.NewGuid(),
            Type = ColumnsType.Name,
            UserId = "user 'ünïcødé' \"quoted\" " + SqlInjection,
            Prompt = "A cat; SELECT * FROM users; -- 'single' \"double\" back\\slash 100%_ 漢字 Ελληνικά 🐉\nsecond line\ttab",
            Preset = "preset" + SqlInjection,
            SourceImageUrl = "file:///tmp/sources/a%20b'c.png",
            Tags = [SqlInjection, "ünïcødé", "漢字", "🐉-emoji", "quote\"tag", "back\\slash", "percent%_under", "[\"json\"]"],
            Meta = new Dictionary<string, string>
            {
                ["style"] = "neon",
                ["quote'key"] = "value \"with\" quotes",
                ["json"] = "{\"a\":[1,2],\"b\":null}",
                ["unicode"] = "Ελληνικά 🌈 漢字",
                ["sql"] = SqlInjection,
                ["empty"] = string.Empty,
            },
            Columns = new Dictionary<string, string?> { ["mood"] = "joyful" + SqlInjection + " 😀", ["intensity"] = null },
            IdempotencyKey = "key" + SqlInjection,

            // Not UTC and not on a whole second: the instant must survive, to the microsecond.
            CreatedAt = new DateTimeOffset(2024, 5, 6, 9, 8, 7, TimeSpan.FromHours(2)).AddTicks(1_234_560),
        };

        var result = await store.InsertAsync(job, Ct);

        Assert.True(result.Created);
        AssertSameAsInserted(job, ColumnsType, result.Job);
        AssertSameAsInserted(job, ColumnsType, await store.GetAsync(ColumnsType.Name, job.Id, job.UserId, Ct));

        // The metacharacters did nothing: the table still takes and counts jobs.
        await InsertAsync(store, NewJob(ColumnsType, BaseTime));
        Assert.Equal(2, await store.CountUnfinishedAsync(ColumnsType.Name, Ct));
    }

    /// <summary>A job with no optional fields reads back with nulls and empty collections.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Insert_and_get_round_trip_a_job_without_optional_fields()
    {
        var store = await NewStoreAsync();
        var job = new NewGenerationJob { Id = Guid.NewGuid(), Type = ColumnsType.Name, UserId = UserA, CreatedAt = BaseTime };

        var result = await store.InsertAsync(job, Ct);

        AssertSameAsInserted(job, ColumnsType, result.Job);
        var read = await GetRequiredAsync(store, ColumnsType, job.Id);
        AssertSameAsInserted(job, ColumnsType, read);
        Assert.Empty(read.Tags);
        Assert.Empty(read.Meta);
        Assert.Null(read.GetColumn("mood"));
    }

    /// <summary>A job of a type with a catalogue stores a catalogue key as its preset.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Insert_and_get_round_trip_a_catalogue_preset()
    {
        var store = await NewStoreAsync();
        foreach (var entry in CatalogType.Catalog!.Entries)
        {
            var job = NewJob(CatalogType, BaseTime) with { Preset = entry.Key };
            var result = await store.InsertAsync(job, Ct);
            AssertSameAsInserted(job, CatalogType, result.Job);
            Assert.Equal(entry.Key, (await GetRequiredAsync(store, CatalogType, job.Id)).Preset);
        }
    }

    /// <summary>Jobs live in their own type's table: the same id is not found under another type.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Jobs_are_kept_per_type()
    {
        var store = await NewStoreAsync();
        var job = await InsertAsync(store, NewJob(PlainType, BaseTime));

        Assert.Null(await store.GetAsync(ColumnsType.Name, job.Id, UserA, Ct));
        Assert.Equal(1, await store.CountUnfinishedAsync(PlainType.Name, Ct));
        Assert.Equal(0, await store.CountUnfinishedAsync(ColumnsType.Name, Ct));
        Assert.Null(await ClaimOneAsync(store, ColumnsType.Name, LongLease, MaxAttempts));
    }

    /// <summary>Another user's job reads as null, by id and by idempotency key; an unknown id reads as null.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Reads_are_scoped_to_the_user()
    {
        var store = await NewStoreAsync();
        var job = await InsertAsync(store, NewJob(PlainType, BaseTime) with { IdempotencyKey = "k1" });

        Assert.NotNull(await store.GetAsync(PlainType.Name, job.Id, UserA, Ct));
        Assert.Null(await store.GetAsync(PlainType.Name, job.Id, UserB, Ct));
        Assert.Null(await store.GetAsync(PlainType.Name, job.Id, UserA.ToUpperInvariant(), Ct));
        Assert.Null(await store.GetAsync(PlainType.Name, Guid.NewGuid(), UserA, Ct));
        Assert.Equal(job.Id, (await store.FindByIdempotencyKeyAsync(PlainType.Name, UserA, "k1", Ct))?.Id);
        Assert.Null(await store.FindByIdempotencyKeyAsync(PlainType.Name, UserB, "k1", Ct));
    }

    /// <summary>Cancel by another user does nothing and reads as null.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Cancel_by_another_user_does_nothing()
    {
        var store = await NewStoreAsync();
        var job = await InsertAsync(store, NewJob(PlainType, BaseTime));

        Assert.Null(await store.CancelAsync(PlainType.Name, job.Id, UserB, Ct));
        Assert.Null(await store.CancelAsync(PlainType.Name, Guid.NewGuid(), UserA, Ct));

        Assert.Equal(GenerationStatus.Queued, (await GetRequiredAsync(store, PlainType, job.Id)).Status);
        Assert.NotNull(await ClaimOneAsync(store, PlainType.Name, LongLease, MaxAttempts));
    }

    /// <summary>A second insert with the same user and idempotency key returns the first job and stores nothing;
    /// the key is scoped per user and per type.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task Idempotency_key_returns_the_existing_job()
    {
        var store = await NewStoreAsync();
        var first = NewJob(PlainType, BaseTime) with { IdempotencyKey = "submit-1", Prompt = "first" };
        await InsertAsync(store, first);

        var again = NewJob(PlainType, BaseTime.AddSeconds(5)) with { IdempotencyKey = "submit-1", Prompt = "second" };
        var repeated = await store.InsertAsync(again, Ct);

        Assert.False(repeated.Created);
        AssertSameAsInserted(first, PlainType, repeated.Job);
        Assert.Null(await store.GetAsync(PlainType.Name, again.Id, UserA, Ct));
        Assert.Equal(1, await store.CountUnfinishedAsync(PlainType.Name, Ct));
        Assert.Equal(first.Id, (await store.FindByIdempotencyKeyAsync(PlainType.Name, UserA, "submit-1", Ct))?.Id);

        // The same key for another user, or another type, is a different job.
        var otherUser = await store.InsertAsync(NewJob(PlainType, BaseTime, UserB) with { IdempotencyKey = "submit-1" }, Ct);
        Assert.True(otherUser.Created);
        Assert.NotEqual(first.Id, otherUser.Job.Id);
        var otherType = await store.InsertAsync(NewJob(ColumnsType, BaseTime) with { IdempotencyKey = "submit-1" }, Ct);
        Assert.True(otherType.Created);

        // Jobs without a key never collide.
        await InsertAsync(store, NewJob(PlainType, BaseTime));
        await InsertAsync(store, NewJob(PlainType, BaseTime));
        Assert.Equal(4, await store.CountUnfinishedAsync(PlainType.Name, Ct));
    }
}
