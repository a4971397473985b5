using Stefna.TestUtils;

namespace Stefna.Sdk.Postgres.Tests;

/// <summary>The relational core shared with the SQLite store answers the same way here (the SQLite project has the
/// same facts).</summary>
public sealed class RelationalCoreTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task A_type_the_store_was_not_initialised_with_is_refused_naming_the_type_as_on_SQLite()
    {
        await using var store = new PostgresMediaStore(database.CreateDataSource());
        await store.InitializeAsync([TestTypes.Unique("core")], CancellationToken.None);

        var get = await Assert.ThrowsAsync<InvalidOperationException>(() => store.GetAsync("core-unknown", Guid.NewGuid(), "u", CancellationToken.None));
        Assert.Equal("The PostgreSQL store has no table for generation type 'core-unknown': it was not among the types passed to InitializeAsync.", get.Message);
        var feed = await Assert.ThrowsAsync<InvalidOperationException>(() => store.QueryFeedAsync(new FeedQuery { UserId = "u", Types = ["core-unknown"] }, CancellationToken.None));
        Assert.Equal(get.Message, feed.Message);
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.CountUnfinishedAsync(null!, CancellationToken.None));
    }
}
