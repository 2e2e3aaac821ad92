using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;
using static Telemetry.Alerting.Tests.Engine.EngineHarness;

namespace Telemetry.Alerting.Tests.Engine;

public sealed class WindowRuleTests
{
    private static void EveryMinute(EngineHarness h, int from, int to, Field field, double value, SensorAddress? sensor = null)
    {
        for (var m = from; m <= to; m++)
        {
            h.At(TimeSpan.FromMinutes(m), field, value, sensor);
        }
    }

    [Fact]
    public void Evaluate_StelFillingWindow_FiresWhenTheFifteenMinuteExposureReachesTheLimit()
    {
        // 120 ppm from t=0: the 15-minute average is 120·t/15 (unmeasured time counts as zero), so 96 at 12 min, 104 at 13.
        var h = new EngineHarness([Rule("co-stel")]);
        EveryMinute(h, 0, 12, Field.CoPpm, 120);
        Assert.Empty(h.Events);
        var e = Assert.Single(h.At(TimeSpan.FromMinutes(13), Field.CoPpm, 120));
        Assert.Equal((AlertState.Raised, "red"), (e.State, e.Level));
        Assert.Equal(104, e.Value!.Value, 6);
        Assert.Equal("CO 15-minute average 104 ppm is above the red level 100 ppm", e.Message);
    }

    [Fact]
    public void Evaluate_TwaFromOneHighReadingInTheFirstMinute_DoesNotFire()
    {
        var h = new EngineHarness([Rule("co-twa")]);
        h.At(TimeSpan.Zero, Field.CoPpm, 1000);
        h.TickAt(TimeSpan.FromMinutes(1));
        h.At(TimeSpan.FromMinutes(1), Field.CoPpm, 1000);
        Assert.Empty(h.Events);
    }

    [Fact]
    public void Evaluate_TwaAfterEnoughExposure_Fires()
    {
        // 8-hour TWA amber 20 ppm: 160 ppm·h of exposure. 200 ppm reaches it after 48 minutes.
        var h = new EngineHarness([Rule("co-twa")]);
        EveryMinute(h, 0, 47, Field.CoPpm, 200);
        Assert.Empty(h.Events);
        var e = Assert.Single(h.At(TimeSpan.FromMinutes(48), Field.CoPpm, 200));
        Assert.Equal((AlertState.Raised, "amber"), (e.State, e.Level));
        Assert.Equal("CO 8-hour average 20 ppm is above the amber level 20 ppm", e.Message);
    }

    [Fact]
    public void Evaluate_StelWindowSliding_ClearsOnceExposureLeavesTheWindow()
    {
        // 120 ppm to 20 min (held to 21), then 0: the average at t is 120·(36−t)/15, below 95 (100 − 5 % hysteresis) after t = 24.1.
        var h = new EngineHarness([Rule("co-stel")]);
        EveryMinute(h, 0, 20, Field.CoPpm, 120);
        EveryMinute(h, 21, 24, Field.CoPpm, 0);
        Assert.Equal(["co-stel:raised:red"], h.Of("co-stel"));
        var e = Assert.Single(h.At(TimeSpan.FromMinutes(25), Field.CoPpm, 0));
        Assert.Equal(AlertState.Cleared, e.State);
        Assert.Equal(88, e.Value!.Value, 6);
    }

    [Fact]
    public void Evaluate_GapLongerThanMaxHold_CountsAsNoExposure()
    {
        // Two 200 ppm readings ten minutes apart: with a 2-minute hold only 2 minutes of exposure are known.
        var h = new EngineHarness([Rule("co-stel")], maxHold: TimeSpan.FromMinutes(2));
        h.At(TimeSpan.Zero, Field.CoPpm, 200);
        h.At(TimeSpan.FromMinutes(10), Field.CoPpm, 200);
        Assert.Empty(h.Events);
        var held = new EngineHarness([Rule("co-stel")], maxHold: TimeSpan.FromMinutes(15));
        held.At(TimeSpan.Zero, Field.CoPpm, 200);
        Assert.Single(held.At(TimeSpan.FromMinutes(10), Field.CoPpm, 200));
    }

    [Fact]
    public void Tick_AverageReachesTheLimitOnTheClock_WithoutANewReading()
    {
        var h = new EngineHarness([Rule("co-stel")]);
        EveryMinute(h, 0, 9, Field.CoPpm, 150);
        Assert.Empty(h.TickAt(TimeSpan.FromMinutes(9.5)));
        var e = Assert.Single(h.TickAt(TimeSpan.FromMinutes(10)));
        Assert.Equal((AlertState.Raised, "red"), (e.State, e.Level));
        Assert.Equal(Start + TimeSpan.FromMinutes(10), e.Ts);
    }

    [Fact]
    public void Tick_SilentSensor_NeverClearsAnAverageAlertBySilenceAlone()
    {
        var h = new EngineHarness([Rule("co-stel")]);
        EveryMinute(h, 0, 15, Field.CoPpm, 150);
        Assert.Single(h.Events);
        for (var m = 16; m <= 120; m += 7)
        {
            h.TickAt(TimeSpan.FromMinutes(m));
        }
        Assert.Equal(["co-stel:raised:red"], h.Events.Where(e => !e.Repeat).Select(Describe));
        Assert.Single(h.Engine.ActiveAlerts());
    }

    // The field dropped while the rest of the sensor reports: CO over 1000 ppm is out_of_range (SPEC §5), so a cell
    // at full scale sends O2 only. Its CO exposure must not be cleared by the other fields' clock.
    [Fact]
    public void Tick_OwnFieldSilentWhileOthersReport_NeverClearsTheAverageAlert()
    {
        var h = new EngineHarness([Rule("co-stel")]);
        EveryMinute(h, 0, 15, Field.CoPpm, 150);
        Assert.Single(h.Events);
        for (var m = 16; m <= 60; m++)
        {
            h.At(TimeSpan.FromMinutes(m), Field.O2Pct, 20.9);
            h.TickAt(TimeSpan.FromMinutes(m) + TimeSpan.FromSeconds(30));
        }
        Assert.Equal(["co-stel:raised:red"], h.Events.Where(e => !e.Repeat).Select(Describe));
    }

    [Theory]
    [InlineData(60, "raised:red")]
    [InlineData(-60, "raised:red")]
    [InlineData(25, "raised:amber")]
    [InlineData(-25, "raised:amber")]
    [InlineData(10, "")]
    public void Evaluate_RateEitherDirection_UsesTheAbsoluteChangePerHour(double perHour, string expected)
    {
        var h = new EngineHarness([Rule("strain-rate")]);
        for (var m = 0; m <= 240; m += 10)
        {
            h.At(TimeSpan.FromMinutes(m), Field.Microstrain, 100 + perHour * m / 60.0, Strain);
        }
        Assert.Equal(expected, string.Join(' ', h.Events.Select(e => $"{e.State.ToString().ToLowerInvariant()}:{e.Level}")));
    }

    [Fact]
    public void Evaluate_RateBeforeHalfTheWindowIsCovered_IsNotEvaluated()
    {
        // 600 µε/h for two hours: far beyond red, but a 6-hour rate needs 3 hours of data.
        var h = new EngineHarness([Rule("strain-rate")]);
        for (var m = 0; m < 180; m += 10)
        {
            h.At(TimeSpan.FromMinutes(m), Field.Microstrain, 10 * m, Strain);
        }
        Assert.Empty(h.Events);
        var e = Assert.Single(h.At(TimeSpan.FromMinutes(180), Field.Microstrain, 1800, Strain));
        Assert.Equal(600, e.Value!.Value, 3);
        Assert.Equal("Strain 6-hour rate 600 µε/h is beyond the red level ±50 µε/h", e.Message);
    }

    [Fact]
    public void Evaluate_RateWhenMovementStops_ClearsAsTheWindowSlides()
    {
        var h = new EngineHarness([Rule("strain-rate")]);
        var m = 0;
        for (; m <= 240; m += 10)
        {
            h.At(TimeSpan.FromMinutes(m), Field.Microstrain, m, Strain); // 60 µε/h
        }
        for (; m <= 240 + 7 * 60; m += 10)
        {
            h.At(TimeSpan.FromMinutes(m), Field.Microstrain, 240, Strain); // still
        }
        Assert.Equal(["strain-rate:raised:red", "strain-rate:deescalated:amber", "strain-rate:cleared:normal"], h.Of("strain-rate"));
    }
}
