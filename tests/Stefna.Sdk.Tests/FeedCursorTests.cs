using Stefna.Sdk;

namespace Stefna.Sdk.Tests;

public class FeedCursorTests
{
    [Fact]
    public void Round_trips_time_and_id()
    {
        var cursor = new FeedCursor(new DateTimeOffset(2026, 11, 25, 4, 51, 42, 123, TimeSpan.Zero).AddTicks(4567), Guid.NewGuid());
        var text = cursor.Encode();
        Assert.Matches("^[A-Za-z0-9_-]{32}$", text);
        Assert.True(FeedCursor.TryDecode(text, out var decoded));
        Assert.Equal(cursor, decoded);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-a-cursor")]
    [InlineData("'; DROP TABLE neo_glitch_media;--")]
    [InlineData("////////////////////////////////")]
    public void Rejects_text_it_did_not_produce(string text) => Assert.False(FeedCursor.TryDecode(text, out _));
}
