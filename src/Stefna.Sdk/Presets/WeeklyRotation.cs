using System.Globalization;

namespace Stefna.Sdk.Presets;

/// <summary>
/// A deterministic weekly rotation: of <see cref="ItemCount"/> items in a fixed order, <see cref="ActiveCount"/> are
/// active during each ISO week (weeks start Monday 00:00 UTC).
/// </summary>
/// <remarks>
/// <para>
/// How it works: weeks are numbered continuously from a fixed Monday, <see cref="WeeklyRotation.Epoch"/>
/// (2024-01-01, the first day of ISO week 1 of 2024), so the numbering has no seam at year ends or after an ISO week 53.
/// Week <c>w</c> activates the window of <c>K</c> items starting at position <c>w·K mod N</c> of the fixed order,
/// wrapping round the end. Consecutive weeks therefore take consecutive windows.
/// </para>
/// <para>
/// Guarantees: the same date always gives the same set (on any host, in any time zone, since only the UTC instant
/// counts); a week's items are distinct; and any <see cref="CoverageWeeks"/> = ⌈N/K⌉ consecutive weeks together cover
/// <c>⌈N/K⌉·K ≥ N</c> consecutive positions, so every item is active at least once in any run of that many weeks
/// (with 25 items and 6 active: any 5 consecutive weeks).
/// </para>
/// </remarks>
public sealed class WeeklyRotation
{
    /// <summary>The Monday from which weeks are counted: 2024-01-01, the start of ISO week 1 of 2024 (UTC).</summary>
    public static readonly DateTimeOffset Epoch = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly TimeSpan Week = TimeSpan.FromDays(7);

    /// <summary>Creates a rotation.</summary>
    /// <param name="itemCount">How many items rotate (at least 1).</param>
    /// <param name="activeCount">How many are active each week (between 1 and <paramref name="itemCount"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">A count is out of range.</exception>
    public WeeklyRotation(int itemCount, int activeCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(itemCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(activeCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(activeCount, itemCount);
        ItemCount = itemCount;
        ActiveCount = activeCount;
    }

    /// <summary>How many items rotate.</summary>
    public int ItemCount { get; }

    /// <summary>How many items are active each week.</summary>
    public int ActiveCount { get; }

    /// <summary>The length of the coverage guarantee: every item is active at least once in any this many consecutive weeks (⌈N/K⌉).</summary>
    public int CoverageWeeks => (ItemCount + ActiveCount - 1) / ActiveCount;

    /// <summary>The positions (0-based, into the fixed order) of the items active during the week that contains an instant.</summary>
    /// <param name="instant">Any instant of the week (converted to UTC).</param>
    /// <returns><see cref="ActiveCount"/> distinct positions, in window order.</returns>
    public IReadOnlyList<int> ActiveIndices(DateTimeOffset instant) => ActiveIndices(WeekNumber(instant));

    /// <summary>The positions of the items active during a week given by its continuous number (see <see cref="WeekNumber"/>).</summary>
    /// <param name="weekNumber">Weeks since <see cref="Epoch"/>; negative before it.</param>
    /// <returns><see cref="ActiveCount"/> distinct positions, in window order.</returns>
    public IReadOnlyList<int> ActiveIndices(long weekNumber)
    {
        var start = PositiveModulo(weekNumber * ActiveCount, ItemCount);
        var result = new int[ActiveCount];
        for (var i = 0; i < ActiveCount; i++)
        {
            result[i] = (int)((start + i) % ItemCount);
        }

        return result;
    }

    /// <summary>The items active during the week that contains an instant.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="items">The items in their fixed rotation order; exactly <see cref="ItemCount"/> of them.</param>
    /// <param name="instant">Any instant of the week.</param>
    /// <returns>The active items, in window order.</returns>
    /// <exception cref="ArgumentException"><paramref name="items"/> does not hold <see cref="ItemCount"/> items.</exception>
    public IReadOnlyList<T> ActiveItems<T>(IReadOnlyList<T> items, DateTimeOffset instant)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count != ItemCount)
        {
            throw new ArgumentException($"The rotation has {ItemCount} items; {items.Count} were given.", nameof(items));
        }

        return [.. ActiveIndices(instant).Select(i => items[i])];
    }

    /// <summary>The continuous number of the week that contains an instant: whole weeks since <see cref="Epoch"/>
    /// (negative before it). Consecutive ISO weeks have consecutive numbers, across year ends and ISO week 53.</summary>
    /// <param name="instant">The instant (converted to UTC).</param>
    /// <returns>The week number.</returns>
    public static long WeekNumber(DateTimeOffset instant)
    {
        var ticks = instant.UtcTicks - Epoch.UtcTicks;
        return ticks >= 0 ? ticks / Week.Ticks : -((-ticks + Week.Ticks - 1) / Week.Ticks);
    }

    /// <summary>The start (Monday 00:00 UTC) of the week that contains an instant.</summary>
    /// <param name="instant">The instant.</param>
    /// <returns>The week's start.</returns>
    public static DateTimeOffset WeekStart(DateTimeOffset instant) => Epoch + (Week * WeekNumber(instant));

    /// <summary>When the rotation next changes after an instant: the next Monday 00:00 UTC (strictly later, so an
    /// instant at exactly Monday 00:00 gives the Monday a week on).</summary>
    /// <param name="instant">The instant.</param>
    /// <returns>The next rotation instant, in UTC.</returns>
    public static DateTimeOffset NextRotation(DateTimeOffset instant) => WeekStart(instant) + Week;

    /// <summary>Describes the week that contains an instant.</summary>
    /// <param name="instant">The instant.</param>
    /// <returns>Its number, ISO year and week, start and end.</returns>
    public static RotationWeek GetWeek(DateTimeOffset instant)
    {
        var start = WeekStart(instant);
        var day = start.UtcDateTime;
        return new RotationWeek(WeekNumber(instant), ISOWeek.GetYear(day), ISOWeek.GetWeekOfYear(day), start, start + Week);
    }

    /// <summary>Describes the week that contains a calendar date (read as a UTC day).</summary>
    /// <param name="date">The date.</param>
    /// <returns>Its number, ISO year and week, start and end.</returns>
    public static RotationWeek GetWeek(DateOnly date) => GetWeek(StartOfDay(date));

    /// <summary>The instant a calendar date starts, in UTC.</summary>
    /// <param name="date">The date.</param>
    /// <returns>Midnight UTC of that date.</returns>
    public static DateTimeOffset StartOfDay(DateOnly date) => new(date.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc));

    private static long PositiveModulo(long value, long modulus)
    {
        var r = value % modulus;
        return r < 0 ? r + modulus : r;
    }
}

/// <summary>One ISO week of a <see cref="WeeklyRotation"/>.</summary>
/// <param name="Number">Weeks since <see cref="WeeklyRotation.Epoch"/> (continuous across years).</param>
/// <param name="IsoYear">The ISO week-numbering year (may differ from the calendar year at year ends).</param>
/// <param name="IsoWeek">The ISO week of that year, 1 to 53.</param>
/// <param name="Start">Monday 00:00 UTC, inclusive.</param>
/// <param name="End">The next Monday 00:00 UTC, exclusive; also when the rotation next changes.</param>
public sealed record RotationWeek(long Number, int IsoYear, int IsoWeek, DateTimeOffset Start, DateTimeOffset End)
{
    /// <summary>The ISO 8601 week name, e.g. <c>2026-W53</c>.</summary>
    /// <returns>The week's name.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{IsoYear}-W{IsoWeek:00}");
}
