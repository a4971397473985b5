using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Stefna.Sdk.Presets;
using static Stefna.TestUtils.GeneratorTestKit;

namespace Stefna.Generators.Presets.Tests;

public class PresetRotationTests
{
    private static DateTimeOffset Utc(int year, int month, int day, int hour = 0) => new(year, month, day, hour, 0, 0, TimeSpan.Zero);

    private static IPresetRotation Rotation(Action<PresetsOptions>? configure = null, TimeProvider? time = null) =>
        Build(b => b.AddPresets(configure, configure: null), s =>
        {
            if (time is not null)
            {
                s.AddSingleton(time);
            }
        }).GetRequiredService<IPresetRotation>();

    private static IEnumerable<DateTimeOffset> Mondays(DateTimeOffset from, DateTimeOffset to)
    {
        for (var monday = WeeklyRotation.WeekStart(from); monday <= to; monday = monday.AddDays(7))
        {
            yield return monday;
        }
    }

    [Fact]
    public void Exactly_six_distinct_catalogue_presets_are_active_every_week()
    {
        var rotation = Rotation();
        Assert.Equal(6, rotation.ActiveCount);
        Assert.Equal(5, rotation.CoverageWeeks);
        foreach (var monday in Mondays(Utc(2020, 1, 1), Utc(2032, 12, 31)))
        {
            var active = rotation.GetActivePresets(monday.AddHours(37));
            Assert.Equal(6, active.Count);
            Assert.Equal(6, active.Select(p => p.Key).Distinct().Count());
            Assert.All(active, p => Assert.Contains(p, PresetCatalog.All));
        }
    }

    [Fact]
    public void Every_preset_is_active_at_least_once_in_any_five_consecutive_weeks()
    {
        var rotation = Rotation();
        var weeks = Mondays(Utc(2023, 1, 1), Utc(2033, 1, 1)).Select(m => rotation.GetActivePresets(m).Select(p => p.Key).ToHashSet()).ToList();
        Assert.True(weeks.Count > 500);
        for (var start = 0; start + 5 <= weeks.Count; start++)
        {
            var covered = weeks.Skip(start).Take(5).SelectMany(w => w).ToHashSet();
            Assert.Equal(25, covered.Count);
        }
    }

    [Fact]
    public void Rotation_is_deterministic_across_containers_and_time_zones()
    {
        var a = Rotation();
        var b = Rotation();
        foreach (var monday in Mondays(Utc(2025, 1, 1), Utc(2027, 12, 31)))
        {
            var expected = a.GetActivePresets(monday).Select(p => p.Key);
            Assert.Equal(expected, b.GetActivePresets(monday.AddDays(3)).Select(p => p.Key));
            Assert.Equal(expected, b.GetActivePresets(monday.AddDays(6).ToOffset(TimeSpan.FromHours(-10))).Select(p => p.Key));
        }
    }

    [Fact]
    public void Week_53_of_2026_runs_from_december_28_to_january_3_and_is_followed_by_week_1_of_2027()
    {
        var rotation = Rotation();

        var w52 = rotation.GetWeek(new DateOnly(2026, 12, 21));
        var w53 = rotation.GetWeek(new DateOnly(2026, 12, 28));
        var w1 = rotation.GetWeek(new DateOnly(2027, 1, 4));
        Assert.Equal("2026-W52", w52.Week.ToString());
        Assert.Equal("2026-W53", w53.Week.ToString());
        Assert.Equal("2027-W01", w1.Week.ToString());

        for (var day = new DateOnly(2026, 12, 28); day <= new DateOnly(2027, 1, 3); day = day.AddDays(1))
        {
            Assert.Equal(w53.Active, rotation.GetWeek(day).Active);
        }

        Assert.Equal(w53.Week.Number + 1, w1.Week.Number);
        Assert.Equal(Utc(2027, 1, 4), w53.NextRotation);

        // Consecutive windows of the fixed order: each week picks up where the previous one ended.
        var order = rotation.Presets.ToList();
        Assert.Equal((order.IndexOf(w52.Active[^1]) + 1) % 25, order.IndexOf(w53.Active[0]));
        Assert.Equal((order.IndexOf(w53.Active[^1]) + 1) % 25, order.IndexOf(w1.Active[0]));
        Assert.Empty(w53.Active.Intersect(w1.Active));

        // The five weeks around the boundary still cover the whole catalogue.
        var around = new[] { new DateOnly(2026, 12, 14), new DateOnly(2026, 12, 21), new DateOnly(2026, 12, 28), new DateOnly(2027, 1, 4), new DateOnly(2027, 1, 11) };
        Assert.Equal(25, around.SelectMany(d => rotation.GetWeek(d).Active).Distinct().Count());
    }

    [Theory]
    [InlineData("2025-06-11T13:45:00Z", "2025-06-16T00:00:00Z")]
    [InlineData("2025-06-15T23:59:59Z", "2025-06-16T00:00:00Z")]
    [InlineData("2025-06-16T00:00:00Z", "2025-06-23T00:00:00Z")]
    [InlineData("2026-12-30T09:00:00Z", "2027-01-04T00:00:00Z")]
    public void Next_rotation_is_the_next_monday_midnight_utc_from_the_clock(string now, string expected)
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture));
        var rotation = Rotation(time: time);

        var next = rotation.GetNextRotation();
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), next);
        Assert.Equal(next, rotation.GetWeek().NextRotation);
        Assert.Equal(next, rotation.GetNextRotation(time.GetUtcNow()));

        // Just before the next rotation the set is this week's; at it, it changes.
        Assert.Equal(rotation.GetActivePresets(), rotation.GetActivePresets(next.AddTicks(-1)));
        Assert.NotEqual(rotation.GetActivePresets(), rotation.GetActivePresets(next));
    }

    [Theory]
    [InlineData(1, 25)]
    [InlineData(3, 9)]
    [InlineData(10, 3)]
    [InlineData(25, 1)]
    public void Active_count_is_configurable_and_keeps_the_coverage_guarantee(int count, int coverageWeeks)
    {
        var rotation = Rotation(o => o.ActiveCount = count);
        Assert.Equal(count, rotation.ActiveCount);
        Assert.Equal(coverageWeeks, rotation.CoverageWeeks);

        var weeks = Mondays(Utc(2026, 1, 1), Utc(2028, 6, 1)).Select(m => rotation.GetActivePresets(m)).ToList();
        Assert.All(weeks, w => Assert.Equal(count, w.Count));
        for (var start = 0; start + coverageWeeks <= weeks.Count; start++)
        {
            Assert.Equal(25, weeks.Skip(start).Take(coverageWeeks).SelectMany(w => w).Distinct().Count());
        }
    }

    [Fact]
    public void Rotation_size_is_configurable_through_rotation_keys()
    {
        string[] keys = ["film_noir", "pop_art", "pixel_art", "golden_hour", "claymation"];
        var rotation = Rotation(o =>
        {
            o.ActiveCount = 2;
            foreach (var key in keys)
            {
                o.RotationKeys.Add(key);
            }
        });

        Assert.Equal(keys, rotation.Presets.Select(p => p.Key));
        Assert.Equal(3, rotation.CoverageWeeks);
        foreach (var monday in Mondays(Utc(2026, 1, 1), Utc(2026, 12, 31)))
        {
            var active = rotation.GetActivePresets(monday);
            Assert.Equal(2, active.Count);
            Assert.All(active, p => Assert.Contains(p.Key, keys));
            Assert.Equal(5, Enumerable.Range(0, 3).SelectMany(i => rotation.GetActivePresets(monday.AddDays(7 * i))).Distinct().Count());
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(26)]
    public void Active_count_outside_the_catalogue_fails_validation(int count)
    {
        using var services = Build(b => b.AddPresets(o => o.ActiveCount = count, configure: null));

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<PresetsOptions>>().Value);
        Assert.Contains("ActiveCount must be between 1 and 25", error.Message, StringComparison.Ordinal);
        Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IPresetRotation>());
    }

    [Fact]
    public void Unknown_or_repeated_rotation_keys_fail_validation()
    {
        using var services = Build(b => b.AddPresets(o =>
        {
            o.ActiveCount = 2;
            o.RotationKeys.Add("film_noir");
            o.RotationKeys.Add("FILM_NOIR");
            o.RotationKeys.Add("sepia_dream");
        }, configure: null));

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<PresetsOptions>>().Value);
        Assert.Contains("sepia_dream", error.Message, StringComparison.Ordinal);
        Assert.Contains("more than once", error.Message, StringComparison.Ordinal);
    }
}
