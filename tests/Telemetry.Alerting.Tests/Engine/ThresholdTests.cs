using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;
using static Telemetry.Alerting.Tests.Engine.EngineHarness;

namespace Telemetry.Alerting.Tests.Engine;

public sealed class ThresholdTests
{
    // co-instant: amber 30, red 100, hysteresis 5 % of each level (1.5 and 5).
    [Theory]
    [InlineData("29.9", "")]
    [InlineData("30", "raised:amber")]
    [InlineData("30 28.6", "raised:amber")]
    [InlineData("30 28.5", "raised:amber")]
    [InlineData("30 28.4", "raised:amber cleared:normal")]
    [InlineData("30 100", "raised:amber escalated:red")]
    [InlineData("30 100 95.1", "raised:amber escalated:red")]
    [InlineData("30 100 94.9", "raised:amber escalated:red deescalated:amber")]
    [InlineData("30 100 10", "raised:amber escalated:red cleared:normal")]
    [InlineData("150 150 150 150", "raised:red")]
    [InlineData("150 20 150", "raised:red cleared:normal raised:red")]
    public void Evaluate_CoInstant_GivesTransitionsExactlyOnce(string values, string expected) =>
        Assert.Equal(expected, OneReadingAMinute("co-instant", Field.CoPpm, values));

    // o2-low: below; amber 19.5 (hysteresis 0.975), red 19.0 (0.95, but red's band reaches the amber level at most: 0.5).
    [Theory]
    [InlineData("20.9 19.6", "")]
    [InlineData("20.9 19.5", "raised:amber")]
    [InlineData("19.4 20.4", "raised:amber")]
    [InlineData("19.4 20.5", "raised:amber cleared:normal")]
    [InlineData("19.0", "raised:red")]
    [InlineData("18.5 19.5", "raised:red")]
    [InlineData("18.5 19.6", "raised:red deescalated:amber")]
    [InlineData("18.5 19.9", "raised:red deescalated:amber")]
    [InlineData("18.5 20.5", "raised:red cleared:normal")]
    public void Evaluate_OxygenBelow_UsesHysteresisAboveTheLevel(string values, string expected) =>
        Assert.Equal(expected, OneReadingAMinute("o2-low", Field.O2Pct, values));

    // o2-high: above; amber 23.0 (hysteresis 1.15), red 23.5 (1.175, capped at the gap to amber: 0.5). 22.6 % is below
    // the amber level: amber at most, not red.
    [Theory]
    [InlineData("23.6 23.0", "raised:red")]
    [InlineData("23.6 22.6", "raised:red deescalated:amber")]
    [InlineData("23.6 21.8", "raised:red cleared:normal")]
    public void Evaluate_OxygenAbove_RedBandEndsAtTheAmberLevel(string values, string expected) =>
        Assert.Equal(expected, OneReadingAMinute("o2-high", Field.O2Pct, values));

    /// <summary>Feeds space-separated values a minute apart; returns the events as "state:level …".</summary>
    private static string OneReadingAMinute(string rule, Field field, string values)
    {
        var h = new EngineHarness([Rule(rule)]);
        var minute = 0;
        foreach (var v in values.Split(' '))
        {
            h.At(TimeSpan.FromMinutes(minute++), field, double.Parse(v, System.Globalization.CultureInfo.InvariantCulture));
        }
        return string.Join(' ', h.Events.Select(e => $"{e.State.ToString().ToLowerInvariant()}:{e.Level}"));
    }

    [Theory]
    [InlineData(0, -999, "")]
    [InlineData(0, -1000, "raised:amber")]
    [InlineData(0, 1500, "raised:red")]
    [InlineData(500, 1400, "")]
    [InlineData(500, 1500, "raised:amber")]
    [InlineData(-400, -1100, "")]
    public void Evaluate_StrainAbs_SubtractsBaselineAndWatchesBothSigns(double baseline, double value, string expected)
    {
        var h = new EngineHarness([Rule("strain-abs")], baseline: baseline);
        h.At(TimeSpan.Zero, Field.Microstrain, value, Strain);
        Assert.Equal(expected, string.Join(' ', h.Events.Select(e => $"{e.State.ToString().ToLowerInvariant()}:{e.Level}")));
    }

    [Fact]
    public void Evaluate_Raise_EventCarriesReadingTimeLevelsAndMessage()
    {
        var h = new EngineHarness([Rule("co-instant")]);
        h.At(TimeSpan.FromMinutes(1), Field.CoPpm, 31);
        var e = Assert.Single(h.At(TimeSpan.FromMinutes(2), Field.CoPpm, 112.4));
        Assert.Equal("kukes/t03/gas-0007/co-instant", e.AlertId);
        Assert.Equal(AlertState.Escalated, e.State);
        Assert.Equal(("red", "amber"), (e.Level, e.PreviousLevel));
        Assert.Equal((112.4, 100.0), (e.Value, e.Threshold));
        Assert.Equal(Start + TimeSpan.FromMinutes(2), e.Ts);
        Assert.Equal("co_ppm", e.Field);
        Assert.Equal("CO 112.4 ppm is above the red level 100 ppm", e.Message);
    }

    [Fact]
    public void Evaluate_ForNotYetHeld_DoesNotFire()
    {
        var h = new EngineHarness([Rule("rh-high")]);
        h.At(TimeSpan.Zero, Field.RhPct, 90, Humidity);
        h.At(TimeSpan.FromMinutes(29), Field.RhPct, 90, Humidity);
        Assert.Empty(h.Events);
        var e = Assert.Single(h.At(TimeSpan.FromMinutes(30), Field.RhPct, 90, Humidity));
        Assert.Equal(("raised", "amber"), (e.State.ToString().ToLowerInvariant(), e.Level));
    }

    [Fact]
    public void Evaluate_ForInterrupted_StartsAgain()
    {
        var h = new EngineHarness([Rule("rh-high")]);
        h.At(TimeSpan.Zero, Field.RhPct, 90, Humidity);
        h.At(TimeSpan.FromMinutes(10), Field.RhPct, 80, Humidity);
        h.At(TimeSpan.FromMinutes(20), Field.RhPct, 90, Humidity);
        h.At(TimeSpan.FromMinutes(45), Field.RhPct, 90, Humidity);
        Assert.Empty(h.Events);
        Assert.Single(h.At(TimeSpan.FromMinutes(50), Field.RhPct, 90, Humidity));
    }

    [Fact]
    public void Tick_ForCompletesOnTheClock_WithoutANewReading()
    {
        var h = new EngineHarness([Rule("rh-high")]);
        h.At(TimeSpan.Zero, Field.RhPct, 96, Humidity);
        h.At(TimeSpan.FromMinutes(20), Field.RhPct, 96, Humidity);
        Assert.Empty(h.TickAt(TimeSpan.FromMinutes(29)));
        var e = Assert.Single(h.TickAt(TimeSpan.FromMinutes(30)));
        Assert.Equal((AlertState.Raised, "red"), (e.State, e.Level));
        Assert.Equal(Start + TimeSpan.FromMinutes(30), e.Ts);
        Assert.Empty(h.TickAt(TimeSpan.FromMinutes(31)));
    }

    [Fact]
    public void Tick_ForBeyondTheHoldOfTheLastReading_WaitsForData()
    {
        var h = new EngineHarness([Rule("rh-high")]);
        h.At(TimeSpan.Zero, Field.RhPct, 90, Humidity);
        Assert.Empty(h.TickAt(TimeSpan.FromHours(2)));
    }
}
