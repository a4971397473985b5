using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Stefna.Sdk;

/// <summary>A page request of a user's feed, newest first, across types.</summary>
public sealed record FeedQuery
{
    /// <summary>The largest page size accepted.</summary>
    public const int MaxLimit = 200;

    /// <summary>The user whose jobs are listed. Feeds are always user-scoped.</summary>
    public required string UserId { get; init; }

    /// <summary>Only these types; all registered types when <see langword="null"/> or empty.</summary>
    public IReadOnlyList<string>? Types { get; init; }

    /// <summary>Only jobs carrying this tag.</summary>
    public string? Tag { get; init; }

    /// <summary>Only jobs in this status; all statuses when <see langword="null"/>.</summary>
    public GenerationStatus? Status { get; init; }

    /// <summary>The page size, 1 to <see cref="MaxLimit"/>.</summary>
    public int Limit { get; init; } = 20;

    /// <summary>The <see cref="FeedPage.NextCursor"/> of the previous page.</summary>
    public string? Cursor { get; init; }
}

/// <summary>One page of a feed.</summary>
/// <param name="Items">The jobs, newest first.</param>
/// <param name="NextCursor">The cursor of the next page, or <see langword="null"/> at the end.</param>
public sealed record FeedPage(IReadOnlyList<GenerationJob> Items, string? NextCursor);

/// <summary>A keyset position in a feed: the (created_at, id) of the last item of a page.</summary>
/// <param name="CreatedAt">The last item's creation time.</param>
/// <param name="Id">The last item's id.</param>
public readonly record struct FeedCursor(DateTimeOffset CreatedAt, Guid Id)
{
    /// <summary>The opaque text form used in URLs and on the command line.</summary>
    /// <returns>A URL-safe string.</returns>
    public string Encode()
    {
        Span<byte> buffer = stackalloc byte[24];
        BinaryPrimitives.WriteInt64BigEndian(buffer, CreatedAt.UtcTicks);
        Id.TryWriteBytes(buffer[8..]);
        return Convert.ToBase64String(buffer).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>Reads a cursor produced by <see cref="Encode"/>.</summary>
    /// <param name="text">The cursor text.</param>
    /// <param name="cursor">The cursor, when valid.</param>
    /// <returns><see langword="true"/> when the text is a valid cursor.</returns>
    public static bool TryDecode(string? text, [NotNullWhen(true)] out FeedCursor? cursor)
    {
        cursor = null;
        if (string.IsNullOrEmpty(text) || text.Length != 32)
        {
            return false;
        }

        var padded = text.Replace('-', '+').Replace('_', '/');
        Span<byte> buffer = stackalloc byte[24];
        if (!Convert.TryFromBase64String(padded, buffer, out var written) || written != 24)
        {
            return false;
        }

        var ticks = BinaryPrimitives.ReadInt64BigEndian(buffer);
        if (ticks < DateTimeOffset.MinValue.UtcTicks || ticks > DateTimeOffset.MaxValue.UtcTicks)
        {
            return false;
        }

        cursor = new FeedCursor(new DateTimeOffset(ticks, TimeSpan.Zero), new Guid(buffer[8..]));
        return true;
    }
}
