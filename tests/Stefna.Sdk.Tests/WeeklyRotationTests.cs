using System.Globalization;
using Stefna.Sdk.Presets;

namespace Stefna.Sdk.Tests;

public class WeeklyRotationTests
{
    private static DateTimeOffset Utc(int year, int month, int day, int hour = 0) => new(year, month, day, hour, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Epoch_is_the_Monday_that_starts_iso_week_1_of_2024()
    {
        Assert.Equal(DayOfWeek.Monday, WeeklyRotation.Epoch.DayOfWeek);
        Assert.Equal(1, ISOWeek.GetWeekOfYear(WeeklyRotation.Epoch.UtcDateTime));
        Assert.Equal(0, WeeklyRotation.WeekNumber(WeeklyRotation.Epoch));
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 0)]
    [InlineData(5, 6)]
    [InlineData(3, 0)]
    public void Counts_out_of_range_are_refused(int items, int active)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new WeeklyRotation(items, active));
    }

    [Theory]
    [InlineData(25, 6, 5)]
    [InlineData(25, 5, 5)]
    [InlineData(25, 25, 1)]
    [InlineData(10, 3, 4)]
    [InlineData(7, 1, 7)]
    public void Coverage_weeks_is_ceiling_of_items_over_active(int items, int active, int expected)
    {
        Assert.Equal(expected, new WeeklyRotation(items, active).CoverageWeeks);
    }

    [Fact]
    public void Every_instant_of_a_week_gives_the_same_set_and_the_next_monday_changes_it()
    {
        var rotation = new WeeklyRotation(25, 6);
        var monday = Utc(2025, 3, 10);
        var set = rotation.ActiveIndices(monday);
        for (var hours = 0; hours < 7 * 24; hours += 5)
        {
            Assert.Equal(set, rotation.ActiveIndices(monday.AddHours(hours)));
        }

        Assert.Equal(set, rotation.ActiveIndices(monday.AddDays(7).AddTicks(-1)));
        Assert.NotEqual(set, rotation.ActiveIndices(monday.AddDays(7)));
    }

    [Fact]
    public void Only_the_utc_instant_counts_not_the_offset()
    {
        var rotation = new WeeklyRotation(25, 6);

        // Monday 01:00 in UTC+02:00 is still Sunday 23:00 UTC: the previous week.
        var local = new DateTimeOffset(2025, 3, 10, 1, 0, 0, TimeSpan.FromHours(2));
        Assert.Equal(rotation.ActiveIndices(Utc(2025, 3, 9, 23)), rotation.ActiveIndices(local));
        Assert.NotEqual(rotation.ActiveIndices(Utc(2025, 3, 10)), rotation.ActiveIndices(local));
    }

    [Theory]
    [InlineData(25, 6)]
    [InlineData(25, 5)]
    [InlineData(10, 3)]
    [InlineData(7, 7)]
    [InlineData(9, 2)]
    public void Each_week_has_exactly_k_distinct_items_and_any_ceiling_window_covers_all(int items, int active)
    {
        var rotation = new WeeklyRotation(items, active);

        // Weeks from 2019 to 2031, including weeks before the epoch (negative numbers).
        var from = WeeklyRotation.WeekNumber(Utc(2019, 1, 1));
        var to = WeeklyRotation.WeekNumber(Utc(2031, 12, 31));
        for (var week = from; week <= to; week++)
        {
            var set = rotation.ActiveIndices(week);
            Assert.Equal(active, set.Count);
            Assert.Equal(active, set.Distinct().Count());
            Assert.All(set, i => Assert.InRange(i, 0, items - 1));

            var covered = new HashSet<int>();
            for (var w = week; w < week + rotation.CoverageWeeks; w++)
            {
                covered.UnionWith(rotation.ActiveIndices(w));
            }

            Assert.Equal(items, covered.Count);
        }
    }

    [Fact]
    public void Coverage_window_is_tight_one_week_less_misses_an_item()
    {
        // With 25 items, 6 a week, 4 weeks show only 24 positions: at least one item is always missing.
        var rotation = new WeeklyRotation(25, 6);
        for (long week = 0; week < 200; week++)
        {
            var covered = Enumerable.Range(0, 4).SelectMany(offset => rotation.ActiveIndices(week + offset)).ToHashSet();
            Assert.True(covered.Count < 25);
        }
    }

    [Fact]
    public void Results_are_deterministic_across_instances()
    {
        var a = new WeeklyRotation(25, 6);
        var b = new WeeklyRotation(25, 6);
        for (var day = Utc(2024, 6, 1); day < Utc(2026, 6, 1); day = day.AddDays(3))
        {
            Assert.Equal(a.ActiveIndices(day), b.ActiveIndices(day));
        }
    }

    [Fact]
    public void Iso_week_53_of_2026_and_week_1_of_2027_are_consecutive_windows()
    {
        var rotation = new WeeklyRotation(25, 6);

        var week53 = WeeklyRotation.GetWeek(new DateOnly(2026, 12, 28));
        var lastDayOf53 = WeeklyRotation.GetWeek(new DateOnly(2027, 1, 3));
        var week1 = WeeklyRotation.GetWeek(new DateOnly(2027, 1, 4));
        var week52 = WeeklyRotation.GetWeek(new DateOnly(2026, 12, 21));

        Assert.Equal((2026, 53), (week53.IsoYear, week53.IsoWeek));
        Assert.Equal("2026-W53", week53.ToString());
        Assert.Equal(week53, lastDayOf53);
        Assert.Equal((2027, 1), (week1.IsoYear, week1.IsoWeek));
        Assert.Equal((2026, 52), (week52.IsoYear, week52.IsoWeek));
        Assert.Equal(week52.Number + 1, week53.Number);
        Assert.Equal(week53.Number + 1, week1.Number);
        Assert.Equal(week53.End, week1.Start);
        Assert.Equal(Utc(2027, 1, 4), week53.End);

        // Consecutive windows: week 1's window starts where week 53's ends, in the fixed order.
        var set52 = rotation.ActiveIndices(week52.Number);
        var set53 = rotation.ActiveIndices(week53.Number);
        var set1 = rotation.ActiveIndices(week1.Number);
        Assert.Equal((set52[^1] + 1) % 25, set53[0]);
        Assert.Equal((set53[^1] + 1) % 25, set1[0]);
        Assert.Empty(set53.Intersect(set1));
    }

    [Fact]
    public void Week_numbers_are_continuous_over_years_with_and_without_week_53()
    {
        // Walking Monday by Monday through 2019..2033 (2020, 2026 and 2032 have 53 ISO weeks), the number rises by one each time.
        var monday = Utc(2018, 12, 31);
        var previous = WeeklyRotation.WeekNumber(monday);
        var sawWeek53 = 0;
        for (var i = 0; i < 52 * 15; i++)
        {
            monday = monday.AddDays(7);
            var week = WeeklyRotation.GetWeek(monday);
            Assert.Equal(previous + 1, week.Number);
            Assert.Equal(monday, week.Start);
            if (week.IsoWeek == 53)
            {
                sawWeek53++;
            }

            previous = week.Number;
        }

        Assert.Equal(3, sawWeek53);
    }

    [Theory]
    [InlineData("2025-03-12T15:30:00Z", "2025-03-17T00:00:00Z")]
    [InlineData("2025-03-16T23:59:59Z", "2025-03-17T00:00:00Z")]
    [InlineData("2025-03-17T00:00:00Z", "2025-03-24T00:00:00Z")]
    [InlineData("2026-12-31T12:00:00Z", "2027-01-04T00:00:00Z")]
    [InlineData("2023-06-01T08:00:00+05:00", "2023-06-05T00:00:00Z")]
    [InlineData("2019-02-03T10:00:00Z", "2019-02-04T00:00:00Z")]
    public void Next_rotation_is_the_next_monday_midnight_utc(string at, string expected)
    {
        var next = WeeklyRotation.NextRotation(DateTimeOffset.Parse(at, CultureInfo.InvariantCulture));
        Assert.Equal(DateTimeOffset.Parse(expected, CultureInfo.InvariantCulture), next);
        Assert.Equal(DayOfWeek.Monday, next.UtcDateTime.DayOfWeek);
        Assert.Equal(TimeSpan.Zero, next.Offset);
    }

    [Fact]
    public void Active_items_maps_positions_onto_the_given_items()
    {
        var rotation = new WeeklyRotation(5, 2);
        string[] items = ["a", "b", "c", "d", "e"];
        var at = Utc(2025, 5, 5);
        Assert.Equal(rotation.ActiveIndices(at).Select(i => items[i]), rotation.ActiveItems(items, at));
        Assert.Throws<ArgumentException>(() => rotation.ActiveItems(items[..4], at));
    }
}
