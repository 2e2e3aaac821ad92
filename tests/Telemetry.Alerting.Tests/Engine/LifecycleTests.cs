using Telemetry.Alerting.Engine;
using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;
using static Telemetry.Alerting.Tests.Engine.EngineHarness;

namespace Telemetry.Alerting.Tests.Engine;

public sealed class LifecycleTests
{
    private static readonly TimeSpan M = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan S = TimeSpan.FromSeconds(1);

    [Fact]
    public void Tick_SensorSilentLongerThanAfter_RaisesStaleOnTheClockOnce()
    {
        var h = new EngineHarness([Rule("sensor-stale")]);
        h.At(TimeSpan.Zero, Field.CoPpm, 1);
        Assert.Empty(h.TickAt(15 * M));
        var e = Assert.Single(h.TickAt(15 * M + TimeSpan.FromSeconds(1)));
        Assert.Equal((AlertState.Raised, "amber", "sensor-stale"), (e.State, e.Level, e.Rule));
        Assert.Equal(Start + 15 * M + TimeSpan.FromSeconds(1), e.Ts);
        Assert.Empty(h.TickAt(40 * M));
    }

    [Fact]
    public void Evaluate_NextReadingAfterStale_ClearsIt()
    {
        var h = new EngineHarness([Rule("sensor-stale")]);
        h.At(TimeSpan.Zero, Field.CoPpm, 1);
        h.TickAt(20 * M);
        var e = Assert.Single(h.At(21 * M, Field.CoPpm, 1));
        Assert.Equal((AlertState.Cleared, "normal", "amber"), (e.State, e.Level, e.PreviousLevel));
        Assert.Equal(Start + 21 * M, e.Ts);
        Assert.Empty(h.Engine.ActiveAlerts());
    }

    [Fact]
    public void Evaluate_DuplicateReading_IsIgnored()
    {
        var h = new EngineHarness([Rule("co-instant")]);
        h.At(M, Field.CoPpm, 150);
        h.At(2 * M, Field.CoPpm, 10);
        Assert.Empty(h.Evaluate(Gas, Reading(2 * M, Field.CoPpm, 10)));
        Assert.Empty(h.Evaluate(Gas, Reading(2 * M, Field.CoPpm, 150)));
        Assert.Equal(["co-instant:raised:red", "co-instant:cleared:normal"], h.Of("co-instant"));
    }

    // A gateway may send a sensor's CO and O2 as two messages with the same time: one point in InfluxDB (its fields
    // merge, SPEC §6), and the second message's O2 is judged like the first's CO, not dropped as a duplicate.
    [Fact]
    public void Evaluate_SameTimeOtherField_IsJudged()
    {
        var h = new EngineHarness([Rule("co-instant"), Rule("o2-low")]);
        h.At(M, Field.CoPpm, 5);
        h.Evaluate(Gas, Reading(M, Field.O2Pct, 17.0));
        Assert.Equal(["o2-low:raised:red"], h.Of("o2-low"));
        Assert.Empty(h.Evaluate(Gas, Reading(M, Field.O2Pct, 20.9)));
        Assert.Equal(["o2-low:raised:red"], h.Of("o2-low"));
    }

    // Validation accepts a ts up to 5 minutes ahead of the service clock (SPEC §4). One reading from a sensor whose clock
    // jumped ahead must not turn the real-time readings after it into a backlog (reported, but not active, retained or
    // repeated) until real time catches up with the glitch: the gas that follows is a live alert, raised once.
    [Fact]
    public void Evaluate_AfterOneReadingAheadOfTheClock_LaterReadingsAreStillLive()
    {
        var h = new EngineHarness([Rule("co-instant")]);
        h.At(0 * M, Field.CoPpm, 5);
        h.Time.SetUtcNow(Start + M);
        h.Evaluate(Gas, Reading(5 * M, Field.CoPpm, 5)); // stamped 4 minutes ahead
        for (var m = 2; m <= 6; m++)
        {
            h.At(m * M, Field.CoPpm, 150);
        }
        Assert.Equal(["co-instant:raised:red"], h.Of("co-instant"));
        Assert.Single(h.Engine.ActiveAlerts());
    }

    [Fact]
    public void Evaluate_ReplayOfAFeedAlreadySeen_RepeatsNothing()
    {
        var h = new EngineHarness([Rule("co-instant"), Rule("co-stel")]);
        double[] feed = [5, 40, 150, 150, 20, 5, 5];
        for (var i = 0; i < feed.Length; i++)
        {
            h.At(i * M, Field.CoPpm, feed[i]);
        }
        var before = h.Events.Count;
        Assert.NotEqual(0, before);
        h.Evaluate(Gas, feed.Select((v, i) => Reading(i * M, Field.CoPpm, v)).ToArray());
        Assert.Equal(before, h.Events.Count);
    }

    [Fact]
    public void Evaluate_BacklogWithADangerousEpisode_ReportsItWithReadingTimesAndLeavesTheLiveStateAlone()
    {
        var h = new EngineHarness([Rule("co-instant")]);
        h.At(0 * M, Field.CoPpm, 5);
        h.At(10 * M, Field.CoPpm, 5);
        // The logger's array after an outage, older than the newest live reading:
        var found = h.Evaluate(Gas, Reading(3 * M, Field.CoPpm, 5), Reading(4 * M, Field.CoPpm, 150), Reading(5 * M, Field.CoPpm, 60), Reading(6 * M, Field.CoPpm, 4));
        Assert.Equal(["co-instant:raised:red:backlog", "co-instant:deescalated:amber:backlog", "co-instant:cleared:normal:backlog"], found.Select(Describe));
        Assert.Equal([Start + 4 * M, Start + 5 * M, Start + 6 * M], found.Select(e => e.Ts));
        Assert.Empty(h.Engine.ActiveAlerts());
        // The same array again (a redelivery) stays quiet.
        Assert.Empty(h.Evaluate(Gas, Reading(3 * M, Field.CoPpm, 5), Reading(4 * M, Field.CoPpm, 150), Reading(5 * M, Field.CoPpm, 60), Reading(6 * M, Field.CoPpm, 4)));
    }

    [Fact]
    public void Evaluate_BacklogOfCleanAir_DoesNotClearALiveAlert()
    {
        var h = new EngineHarness([Rule("co-instant")]);
        h.At(10 * M, Field.CoPpm, 150);
        Assert.Empty(h.Evaluate(Gas, Reading(5 * M, Field.CoPpm, 0), Reading(6 * M, Field.CoPpm, 0)));
        Assert.Single(h.Engine.ActiveAlerts());
    }

    [Fact]
    public void Evaluate_BacklogOverlappingAnEpisodeAlreadyReported_IsNotReportedAgain()
    {
        var h = new EngineHarness([Rule("co-instant")]);
        h.At(0 * M, Field.CoPpm, 5);
        h.At(4 * M, Field.CoPpm, 150);
        h.At(8 * M, Field.CoPpm, 5);
        Assert.Empty(h.Evaluate(Gas, Reading(5 * M, Field.CoPpm, 150), Reading(6 * M, Field.CoPpm, 150), Reading(7 * M, Field.CoPpm, 5)));
    }

    // A logger's backlog in two arrays (SPEC §4 caps one at 10,000 readings), with an episode across the cut: one
    // episode, raised once and cleared once, not raised again by the second array.
    [Fact]
    public void Evaluate_BacklogEpisodeAcrossTwoArrays_IsRaisedOnce()
    {
        var h = new EngineHarness([Rule("co-instant")]);
        h.At(10 * M, Field.CoPpm, 5);
        h.Evaluate(Gas, Reading(3 * M, Field.CoPpm, 5), Reading(4 * M, Field.CoPpm, 150));
        h.Evaluate(Gas, Reading(5 * M, Field.CoPpm, 150), Reading(6 * M, Field.CoPpm, 4));
        Assert.Equal(["co-instant:raised:red:backlog", "co-instant:cleared:normal:backlog"], h.Of("co-instant"));
        Assert.Empty(h.Evaluate(Gas, Reading(5 * M, Field.CoPpm, 150), Reading(6 * M, Field.CoPpm, 4)));
    }

    // The second array starts in clean air: the first array's episode clears at its first reading, and what it raises
    // later is a new episode, reported with its own raise.
    [Fact]
    public void Evaluate_BacklogSecondArrayStartingClean_ClearsTheOpenEpisode_AndRaisesItsOwn()
    {
        var h = new EngineHarness([Rule("co-instant")]);
        h.At(10 * M, Field.CoPpm, 5);
        h.Evaluate(Gas, Reading(3 * M, Field.CoPpm, 5), Reading(4 * M, Field.CoPpm, 150));
        var second = h.Evaluate(Gas, Reading(5 * M, Field.CoPpm, 4), Reading(6 * M, Field.CoPpm, 150), Reading(7 * M, Field.CoPpm, 4));
        Assert.Equal([(AlertState.Cleared, Start + 5 * M), (AlertState.Raised, Start + 6 * M), (AlertState.Cleared, Start + 7 * M)],
            second.Select(e => (e.State, e.Ts)));
        Assert.All(second, e => Assert.True(e.Backlog));
        // Redelivered, the second array stays quiet.
        Assert.Empty(h.Evaluate(Gas, Reading(5 * M, Field.CoPpm, 4), Reading(6 * M, Field.CoPpm, 150), Reading(7 * M, Field.CoPpm, 4)));
    }

    // The first array ends in amber; the second starts just under the level, inside its hysteresis, and rises again
    // before it clears: one episode, which clears once, not a second raise.
    [Fact]
    public void Evaluate_BacklogSecondArrayStartingInsideTheHysteresis_CarriesTheEpisodeOn()
    {
        var h = new EngineHarness([Rule("co-instant")]);
        h.At(10 * M, Field.CoPpm, 5);
        h.Evaluate(Gas, Reading(3 * M, Field.CoPpm, 5), Reading(4 * M, Field.CoPpm, 40));
        var second = h.Evaluate(Gas, Reading(5 * M, Field.CoPpm, 29), Reading(6 * M, Field.CoPpm, 40), Reading(7 * M, Field.CoPpm, 5));
        Assert.Equal([(AlertState.Cleared, Start + 7 * M)], second.Select(e => (e.State, e.Ts)));
        Assert.Equal(["co-instant:raised:amber:backlog", "co-instant:cleared:normal:backlog"], h.Of("co-instant"));
    }

    // A 15-minute average in red at the end of the first array: the second array starts lower, but the average over the
    // window still holds the first array's readings, so the episode cannot clear at once. The scratch window of the
    // second array starts empty: its first readings alone are not the average.
    [Fact]
    public void Evaluate_BacklogSecondArrayOfAnAverage_DoesNotClearBeforeItsWindowSaysSo()
    {
        var h = new EngineHarness([Rule("co-stel")]);
        h.At(120 * M, Field.CoPpm, 5);
        h.Evaluate(Gas, [.. Enumerable.Range(0, 16).Select(i => Reading(i * M, Field.CoPpm, 150))]);
        Assert.Equal(["co-stel:raised:red:backlog"], h.Of("co-stel"));
        var second = h.Evaluate(Gas, [.. Enumerable.Range(16, 30).Select(i => Reading(i * M, Field.CoPpm, 50))]);
        // Of 15 minutes, more than 8.25 at 50 ppm bring the average below 95 (the red level less its hysteresis).
        var cleared = Assert.Single(second, e => e.State == AlertState.Cleared);
        Assert.True(cleared.Ts >= Start + 24 * M, $"cleared at {(cleared.Ts - Start).TotalMinutes} min");
    }

    // The first array's open episode is far older than the second array (more than MaxHold): not carried on.
    [Fact]
    public void Evaluate_BacklogSecondArrayLongAfterTheFirst_DoesNotCarryItsEpisode()
    {
        var h = new EngineHarness([Rule("co-instant")]);
        h.At(100 * 60 * M, Field.CoPpm, 5);
        h.Evaluate(Gas, Reading(3 * M, Field.CoPpm, 5), Reading(4 * M, Field.CoPpm, 150));
        Assert.Empty(h.Evaluate(Gas, Reading(50 * 60 * M, Field.CoPpm, 4), Reading(50 * 60 * M + M, Field.CoPpm, 4)));
    }

    [Fact]
    public void Evaluate_OutOfOrderInsideOneArray_IsEvaluatedInTimeOrder()
    {
        var h = new EngineHarness([Rule("co-instant")]);
        h.Time.SetUtcNow(Start + 3 * M);
        h.Evaluate(Gas, Reading(3 * M, Field.CoPpm, 5), Reading(1 * M, Field.CoPpm, 150), Reading(2 * M, Field.CoPpm, 150));
        Assert.Equal(["co-instant:raised:red", "co-instant:cleared:normal"], h.Of("co-instant"));
        Assert.Equal([Start + M, Start + 3 * M], h.Events.Select(e => e.Ts));
    }

    [Fact]
    public void Restart_FromSnapshot_NeitherForgetsNorRaisesAgain()
    {
        var quiet = TimeSpan.FromHours(10);
        var h = new EngineHarness([Rule("co-instant") with { Repeat = quiet }, Rule("co-stel") with { Repeat = quiet }]);
        for (var i = 0; i <= 14; i++)
        {
            h.At(i * M, Field.CoPpm, 150);
        }
        Assert.Equal(["co-instant:raised:red", "co-stel:raised:red"], h.Events.Select(Describe).Order());
        h.Restart();
        Assert.Equal(2, h.Engine.ActiveAlerts().Count);
        Assert.Empty(h.At(15 * M, Field.CoPpm, 150));
        Assert.Empty(h.TickAt(16 * M));
        Assert.Equal(["co-instant:cleared:normal"], h.At(16 * M, Field.CoPpm, 0).Select(Describe));
    }

    [Fact]
    public void Restart_MidWindow_ContinuesTheAverage()
    {
        var h = new EngineHarness([Rule("co-stel")]);
        for (var i = 0; i <= 10; i++)
        {
            h.At(i * M, Field.CoPpm, 120);
        }
        h.Restart();
        h.At(11 * M, Field.CoPpm, 120);
        h.At(12 * M, Field.CoPpm, 120);
        Assert.Empty(h.Events);
        Assert.Single(h.At(13 * M, Field.CoPpm, 120));
    }

    [Fact]
    public void Restart_WithAPendingFor_KeepsItsStart()
    {
        var h = new EngineHarness([Rule("rh-high")]);
        h.At(TimeSpan.Zero, Field.RhPct, 90, Humidity);
        h.At(20 * M, Field.RhPct, 90, Humidity);
        h.Restart();
        Assert.Single(h.At(30 * M, Field.RhPct, 90, Humidity));
    }

    [Fact]
    public void Restart_AfterDowntime_GivesSensorsTheirFullAfterBeforeStale()
    {
        var h = new EngineHarness([Rule("sensor-stale")]);
        h.At(TimeSpan.Zero, Field.CoPpm, 1);
        h.Time.SetUtcNow(Start + TimeSpan.FromHours(2));
        h.Restart();
        Assert.Empty(h.TickAt(TimeSpan.FromHours(2) + 5 * M));
        Assert.Single(h.TickAt(TimeSpan.FromHours(2) + 16 * M));
    }

    [Fact]
    public void Tick_UnacknowledgedRed_IsRepeatedEveryRepeatAndStopsOnAck()
    {
        var h = new EngineHarness([Rule("co-instant")]);
        h.At(TimeSpan.Zero, Field.CoPpm, 150);
        Assert.Empty(h.TickAt(14 * M));
        var repeat = Assert.Single(h.TickAt(15 * M));
        Assert.True(repeat.Repeat);
        Assert.Equal((AlertState.Raised, "red"), (repeat.State, repeat.Level));
        Assert.Empty(h.TickAt(20 * M));
        Assert.Single(h.TickAt(30 * M));

        var events = new List<AlertEvent>();
        Assert.Equal(AckResult.Acknowledged, h.Engine.Acknowledge("kukes/t03/gas-0007/co-instant", "ana", "crew withdrawn", events));
        var ack = Assert.Single(events);
        Assert.Equal((AlertState.Acknowledged, "red", "ana", "crew withdrawn"), (ack.State, ack.Level, ack.AcknowledgedBy, ack.Note));
        Assert.Empty(h.TickAt(60 * M));
        Assert.Equal("ana", Assert.Single(h.Engine.ActiveAlerts()).AcknowledgedBy);
    }

    [Fact]
    public void Tick_AmberAlert_IsNotRepeated()
    {
        var h = new EngineHarness([Rule("co-instant")]);
        h.At(TimeSpan.Zero, Field.CoPpm, 40);
        Assert.Empty(h.TickAt(TimeSpan.FromHours(1)));
    }

    [Fact]
    public void Acknowledge_Twice_EmitsOnce_AndUnknownIsNotFound()
    {
        var h = new EngineHarness([Rule("co-instant")]);
        h.At(TimeSpan.Zero, Field.CoPpm, 40);
        var events = new List<AlertEvent>();
        Assert.Equal(AckResult.Acknowledged, h.Engine.Acknowledge("kukes/t03/gas-0007/co-instant", "ana", null, events));
        Assert.Equal(AckResult.AlreadyAcknowledged, h.Engine.Acknowledge("kukes/t03/gas-0007/co-instant", "bob", null, events));
        Assert.Equal(AckResult.NotFound, h.Engine.Acknowledge("kukes/t03/gas-0007/co-stel", "ana", null, events));
        Assert.Equal(AckResult.NotFound, h.Engine.Acknowledge("nope", "ana", null, events));
        Assert.Single(events);
    }

    [Fact]
    public void Evaluate_EscalationAfterAck_NeedsANewAck()
    {
        var h = new EngineHarness([Rule("co-instant")]);
        h.At(TimeSpan.Zero, Field.CoPpm, 40);
        h.Engine.Acknowledge("kukes/t03/gas-0007/co-instant", "ana", null, []);
        h.At(M, Field.CoPpm, 150);
        Assert.Null(Assert.Single(h.Engine.ActiveAlerts()).AcknowledgedBy);
        Assert.True(Assert.Single(h.TickAt(16 * M)).Repeat);
    }

    [Fact]
    public void CurrentStates_StatesEachActiveAlertAsItsRetainedMessageWould()
    {
        var h = new EngineHarness([Rule("co-instant"), Rule("ch4-lel")]);
        h.At(M, Field.CoPpm, 150);
        h.At(2 * M, Field.Ch4LelPct, 12);
        h.At(3 * M, Field.Ch4LelPct, 0); // cleared: no state
        h.At(4 * M, Field.Ch4LelPct, 25);
        Assert.Equal(AckResult.Acknowledged, h.Engine.Acknowledge("kukes/t03/gas-0007/co-instant", "ana", "on it", h.Events));

        var states = new List<AlertEvent>();
        h.Engine.CurrentStates(states);

        Assert.Equal(
            ["ch4-lel:raised:red:ch4_lel_pct", "co-instant:acknowledged:red:co_ppm"],
            states.Select(e => $"{e.Rule}:{e.State.ToString().ToLowerInvariant()}:{e.Level}:{e.Field}").Order());
        var ch4 = states.Single(e => e.Rule == "ch4-lel");
        Assert.Equal((Start + 4 * M, 25.0, false), (ch4.Ts, ch4.Value!.Value, ch4.Repeat));
        Assert.Equal("ana", states.Single(e => e.Rule == "co-instant").AcknowledgedBy);
    }

    [Fact]
    public void Restart_KeepsAcknowledgement()
    {
        var h = new EngineHarness([Rule("co-instant")]);
        h.At(TimeSpan.Zero, Field.CoPpm, 150);
        h.Engine.Acknowledge("kukes/t03/gas-0007/co-instant", "ana", "ok", []);
        h.Restart();
        Assert.Equal("ana", Assert.Single(h.Engine.ActiveAlerts()).AcknowledgedBy);
        Assert.Empty(h.TickAt(TimeSpan.FromHours(1)));
    }

    [Fact]
    public void Restart_WithARuleSwitchedOff_ClearsItsActiveAlertOnce()
    {
        var h = new EngineHarness([Rule("co-instant")]);
        h.At(TimeSpan.Zero, Field.CoPpm, 150);
        var after = new EngineHarness([], time: h.Time, state: h.Engine.Snapshot());
        var e = Assert.Single(after.TickAt(M));
        Assert.Equal((AlertState.Cleared, "co-instant", "red"), (e.State, e.Rule, e.PreviousLevel));
        Assert.Empty(after.TickAt(2 * M));
        Assert.Empty(after.Engine.ActiveAlerts());
    }

    [Fact]
    public void Snapshot_IsADeepCopy()
    {
        var h = new EngineHarness([Rule("co-instant")]);
        h.At(TimeSpan.Zero, Field.CoPpm, 150);
        var snapshot = h.Engine.Snapshot();
        h.At(M, Field.CoPpm, 0);
        Assert.Equal(Telemetry.Contracts.Alerts.AlertLevel.Red, snapshot.Sensors[0].Rules["co-instant"].Level);
    }

    [Fact]
    public void Window_ManyReadings_KeepsBoundedMemory()
    {
        var h = new EngineHarness([Rule("co-twa")]);
        for (var s = 0; s < 10 * 3600; s += 5)
        {
            h.At(TimeSpan.FromSeconds(s), Field.CoPpm, 1);
        }
        var window = h.Engine.Snapshot().Sensors[0].Rules["co-twa"].Average!;
        Assert.InRange(window.BucketCount, 1, AverageWindow.BucketsPerWindow + 1);
    }

    // A sensor whose clock runs 2 minutes ahead (accepted: < 5 min). A redelivered message (QoS 1, at-least-once)
    // is a duplicate and must not raise the alert again.
    [Fact]
    public void Evaluate_RedeliveredReadingStampedAheadOfTheClock_IsADuplicate()
    {
        var h = new EngineHarness([Rule("co-instant")]);
        h.Time.SetUtcNow(Start);
        h.Evaluate(Gas, Reading(2 * M, Field.CoPpm, 150));          // raised (judged at Start)
        h.Time.SetUtcNow(Start + 10 * S);
        h.Evaluate(Gas, Reading(2 * M + 10 * S, Field.CoPpm, 5));    // cleared
        h.Time.SetUtcNow(Start + 20 * S);
        h.Evaluate(Gas, Reading(2 * M, Field.CoPpm, 150));          // the first message, redelivered
        h.Evaluate(Gas, Reading(2 * M + 10 * S, Field.CoPpm, 5));    // the second, redelivered
        Assert.Equal(["co-instant:raised:red", "co-instant:cleared:normal"], h.Of("co-instant"));
    }

    // Same, across a restart (the broker redelivers what was not acknowledged before the crash).
    [Fact]
    public void Restart_RedeliveredReadingStampedAheadOfTheClock_IsADuplicate()
    {
        var h = new EngineHarness([Rule("co-instant")]);
        h.Time.SetUtcNow(Start);
        h.Evaluate(Gas, Reading(2 * M, Field.CoPpm, 150));
        h.Time.SetUtcNow(Start + 10 * S);
        h.Evaluate(Gas, Reading(2 * M + 10 * S, Field.CoPpm, 5));
        h.Restart();
        h.Time.SetUtcNow(Start + 30 * S);
        h.Evaluate(Gas, Reading(2 * M, Field.CoPpm, 150));
        h.Evaluate(Gas, Reading(2 * M + 10 * S, Field.CoPpm, 5));
        Assert.Equal(["co-instant:raised:red", "co-instant:cleared:normal"], h.Of("co-instant"));
        Assert.Empty(h.Engine.ActiveAlerts());
    }

    // Backlog in two arrays; the first ends in amber, the second starts in red. The red level must be reported.
    [Fact]
    public void Evaluate_BacklogEpisodeAcrossTwoArrays_ReportsAnEscalationAtTheCut()
    {
        var h = new EngineHarness([Rule("co-instant")]);
        h.At(60 * M, Field.CoPpm, 5);
        h.Evaluate(Gas, Reading(10 * M, Field.CoPpm, 5), Reading(11 * M, Field.CoPpm, 40));   // amber, open at the cut
        h.Evaluate(Gas, Reading(12 * M, Field.CoPpm, 150), Reading(13 * M, Field.CoPpm, 5));  // red, then clean
        Assert.Equal(["co-instant:raised:amber:backlog", "co-instant:escalated:red:backlog", "co-instant:cleared:normal:backlog"], h.Of("co-instant"));
    }

    // With For: the second array starts in alarm, then clears (the first array's episode ends there), and a separate
    // episode follows, raised once held for For.
    [Fact]
    public void Evaluate_BacklogSecondArrayWithFor_RaisesALaterEpisodeOfItsOwn()
    {
        var h = new EngineHarness([Rule("rh-high")]);
        h.At(600 * M, Field.RhPct, 50, Humidity);
        h.Evaluate(Humidity, Reading(0 * M, Field.RhPct, 90), Reading(40 * M, Field.RhPct, 90));   // raised amber at 30m, open
        var second = h.Evaluate(Humidity,
            Reading(41 * M, Field.RhPct, 90),      // in alarm (pending) at its first reading
            Reading(42 * M, Field.RhPct, 50),      // clean
            Reading(100 * M, Field.RhPct, 50),
            Reading(110 * M, Field.RhPct, 90),     // a new episode ...
            Reading(150 * M, Field.RhPct, 90),     // ... raised at 150m (held 40m)
            Reading(160 * M, Field.RhPct, 50));
        Assert.Equal(["cleared@42m", "raised@150m", "cleared@160m"], second.Select(e => $"{e.State.ToString().ToLowerInvariant()}@{(e.Ts - Start).TotalMinutes}m"));
    }

    // The events that restate restored alerts on MQTT carry the rule's field, as the original event did.
    [Fact]
    public void CurrentStates_AfterRestart_CarryTheRulesField()
    {
        var h = new EngineHarness([Rule("co-instant")]);
        var raised = Assert.Single(h.At(M, Field.CoPpm, 150));
        h.Restart();
        var states = new List<AlertEvent>();
        h.Engine.CurrentStates(states);
        var e = Assert.Single(states);
        Assert.Equal(raised.Field, e.Field);
    }

    // At start, against the broker's retained alerts: what a crash kept from MQTT is told, what MQTT has is not repeated,
    // and an alert the engine knows nothing of is left alone.
    [Fact]
    public void RetainedCorrections_TellWhatMqttLacks_AndNothingElse()
    {
        var g8 = new SensorAddress("kukes", "t03", SensorKind.Gas, "gas-0008");
        var g9 = new SensorAddress("kukes", "t03", SensorKind.Gas, "gas-0009");
        var h = new EngineHarness([Rule("co-instant")]);
        var raised7 = Assert.Single(h.At(M, Field.CoPpm, 150));
        var raised8 = Assert.Single(h.At(M, Field.CoPpm, 150, g8));
        var raised9 = Assert.Single(h.At(M, Field.CoPpm, 40, g9));
        var cleared8 = Assert.Single(h.At(2 * M, Field.CoPpm, 5, g8));
        var stranger = raised9 with { AlertId = "kukes/t09/gas-0001/co-instant", Sensor = "gas-0001", Tunnel = "t09" };
        h.Restart();

        var corrections = new List<AlertEvent>();
        // gas-0007's raise never reached MQTT; gas-0008's clear did not either; gas-0009 is as MQTT has it.
        h.Engine.RetainedCorrections(new Dictionary<string, AlertEvent>
        {
            [raised8.AlertId] = raised8,
            [raised9.AlertId] = raised9,
            [stranger.AlertId] = stranger,
        }, corrections);

        Assert.Equal([raised7.AlertId, cleared8.AlertId], corrections.Select(e => e.AlertId));
        Assert.Equal((AlertState.Raised, "red"), (corrections[0].State, corrections[0].Level));
        Assert.Equal((AlertState.Cleared, "normal", "red", cleared8.Ts), (corrections[1].State, corrections[1].Level, corrections[1].PreviousLevel, corrections[1].Ts));

        // All in step: nothing to tell.
        corrections.Clear();
        h.Engine.RetainedCorrections(new Dictionary<string, AlertEvent> { [raised7.AlertId] = raised7, [raised9.AlertId] = raised9 }, corrections);
        Assert.Empty(corrections);
    }
}
