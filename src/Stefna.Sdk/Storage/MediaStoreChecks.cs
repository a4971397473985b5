using Stefna.Sdk.Generators;

namespace Stefna.Sdk.Storage;

/// <summary>
/// The argument checks every <see cref="IMediaStore"/> applies, written once so that stores answer the same input the
/// same way (the conformance kit pins each): an insert naming a column its type does not have is refused, a feed page
/// size outside 1 to <see cref="FeedQuery.MaxLimit"/> is refused rather than clamped, a cursor the feed did not produce
/// is refused, and text with a NUL character or an unpaired surrogate (which PostgreSQL cannot store and SQLite
/// would store mangled) is refused. The pipeline refuses such text earlier, as <c>invalid_request</c>.
/// </summary>
public static class MediaStoreChecks
{
    /// <summary>Whether <paramref name="text"/> can be stored as text by every store: no NUL character and no surrogate
    /// that is not half of a pair. <see langword="null"/> is well formed.</summary>
    /// <param name="text">The text.</param>
    /// <returns><see langword="true"/> when every store can keep the text as it is.</returns>
    public static bool IsStorableText(string? text)
    {
        if (text is null)
        {
            return true;
        }

        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0')
            {
                return false;
            }

            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Checks a job before it is inserted: every column it sets is one of its type's
    /// <see cref="GenerationTypeDefinition.ExtraColumns"/>, and all its text is storable (<see cref="IsStorableText"/>).</summary>
    /// <param name="definition">The job's type.</param>
    /// <param name="job">The job.</param>
    /// <exception cref="ArgumentException">A column the type does not have, or text no store can keep.</exception>
    public static void CheckInsert(GenerationTypeDefinition definition, NewGenerationJob job)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(job);
        foreach (var (column, value) in job.Columns)
        {
            if (!definition.ExtraColumns.Contains(column, StringComparer.Ordinal))
            {
                throw new ArgumentException($"'{column}' is not a column of the {definition.Name} table; its columns are: {string.Join(", ", definition.ExtraColumns)}.", nameof(job));
            }

            Storable(value, column);
        }

        Storable(job.UserId, nameof(job.UserId));
        Storable(job.Prompt, nameof(job.Prompt));
        Storable(job.Preset, nameof(job.Preset));
        Storable(job.SourceImageUrl, nameof(job.SourceImageUrl));
        Storable(job.IdempotencyKey, nameof(job.IdempotencyKey));
        foreach (var tag in job.Tags)
        {
            Storable(tag, "tag");
        }

        foreach (var (key, value) in job.Meta)
        {
            Storable(key, "meta key");
            Storable(value, "meta value");
        }
    }

    /// <summary>Checks a feed query: a user id, a page size of 1 to <see cref="FeedQuery.MaxLimit"/>, and a cursor this
    /// feed produced (or none).</summary>
    /// <param name="query">The query.</param>
    /// <returns>The decoded cursor, or <see langword="null"/> for the first page.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The page size is out of range.</exception>
    /// <exception cref="ArgumentException">No user id, or a cursor this feed did not produce.</exception>
    public static FeedCursor? CheckFeedQuery(FeedQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentException.ThrowIfNullOrWhiteSpace(query.UserId, nameof(query));
        if (query.Limit is < 1 or > FeedQuery.MaxLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(query), query.Limit, $"The page size must be between 1 and {FeedQuery.MaxLimit}.");
        }

        if (query.Cursor is null)
        {
            return null;
        }

        return FeedCursor.TryDecode(query.Cursor, out var cursor) ? cursor : throw new ArgumentException("The cursor is not one this feed produced.", nameof(query));
    }

    private static void Storable(string? value, string what)
    {
        if (!IsStorableText(value))
        {
            throw new ArgumentException($"The job's {what} contains a NUL character or an unpaired surrogate, which no store keeps as text.", nameof(value));
        }
    }
}
