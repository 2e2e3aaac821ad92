using Telemetry.Alerting.Engine;
using Telemetry.Alerting.State;
using Telemetry.Contracts.Alerts;
using Telemetry.Testing;

namespace Telemetry.Alerting.Tests.State;

public sealed class StateJournalTests
{
    private static JournalRecord Record(long seq, string rule, AlertLevel level, string sensor = "gas-0007") => new()
    {
        Seq = seq,
        Changes =
        [
            new JournalChange
            {
                Site = "kukes", Tunnel = "t03", Kind = "gas", Sensor = sensor, NewestMs = 1000 * seq, LastSeenMs = 2000 * seq, Rule = rule,
                State = level == AlertLevel.Normal && rule == "gone" ? null : new RuleState { Level = level, SinceMs = seq },
            },
        ],
    };

    [Fact]
    public void Read_ReturnsOnlyRecordsNewerThanTheSnapshot_InOrder()
    {
        using var dir = new TempDir("journal-read");
        using var journal = new StateJournal(dir.Combine("state.json"));
        for (var q = 1; q <= 4; q++)
        {
            journal.Append(journal.Serialize(Record(q, "co-instant", AlertLevel.Amber)).Span);
        }
        var records = journal.Read(afterSeq: 2, out var unreadable);
        Assert.Equal([3L, 4L], records.Select(r => r.Seq));
        Assert.Equal(0, unreadable);
    }

    [Fact]
    public void Read_ACutOffLastWrite_IsLeftOutAndCounted_AndCanBeCutOff()
    {
        using var dir = new TempDir("journal-torn");
        var path = dir.Combine("state.json");
        using (var journal = new StateJournal(path))
        {
            journal.Append(journal.Serialize(Record(1, "co-instant", AlertLevel.Red)).Span);
        }
        const string torn = "{\"q\":2,\"c\":[{\"Si";
        File.AppendAllText(path + ".journal", torn);
        using var again = new StateJournal(path);
        var records = again.Read(0, out var unreadable);
        Assert.Equal(1, Assert.Single(records).Seq);
        Assert.Equal(torn.Length, unreadable);

        // Cut off, the journal goes on after the last whole record.
        again.DropUnreadableTail();
        again.Append(again.Serialize(Record(3, "co-instant", AlertLevel.Amber)).Span);
        Assert.Equal([1L, 3L], again.Read(0, out unreadable).Select(r => r.Seq));
        Assert.Equal(0, unreadable);
    }

    [Fact]
    public void Rotate_SetsTheRecordsApart_TheReplayReadsThemFirst_UntilTheSnapshotDropsThem()
    {
        using var dir = new TempDir("journal-rotate");
        var path = dir.Combine("live", "state.json");
        using var journal = new StateJournal(path);
        void Append(long q) => journal.Append(journal.Serialize(Record(q, "co-instant", AlertLevel.Red)).Span);
        Append(1);
        Append(2);
        journal.Rotate();
        Assert.Equal(0, journal.Length);
        Append(3);
        Assert.Equal([1L, 2L, 3L], journal.Read(0, out _).Select(r => r.Seq));

        // A crash while the next rotation had copied record 3 after the others but not yet deleted it: read once.
        var crashed = dir.Combine("crashed", "state.json");
        Directory.CreateDirectory(Path.GetDirectoryName(crashed)!);
        File.WriteAllBytes(crashed + ".journal", File.ReadAllBytes(path + ".journal"));
        File.WriteAllBytes(crashed + ".journal.previous", [.. File.ReadAllBytes(path + ".journal.previous"), .. File.ReadAllBytes(path + ".journal")]);
        using (var again = new StateJournal(crashed))
        {
            Assert.Equal([1L, 2L, 3L], again.Read(0, out _).Select(r => r.Seq));
        }

        // A snapshot that did not make it: the next one sets these apart too, after the first ones.
        journal.Rotate();
        Append(4);
        Assert.Equal([1L, 2L, 3L, 4L], journal.Read(0, out _).Select(r => r.Seq));
        Assert.True(journal.HasPrevious);

        journal.DropPrevious();
        Assert.False(journal.HasPrevious);
        Append(5);
        Assert.Equal([4L, 5L], journal.Read(0, out _).Select(r => r.Seq));
    }

    [Fact]
    public void Apply_ReplacesTheRule_KeepsItsWindows_AddsNewSensors_AndRemovesGoneRules()
    {
        var window = AverageWindow.For(TimeSpan.FromMinutes(15));
        window.Add(1000, 10, 60_000);
        var state = new AlertEngineState
        {
            Sensors =
            [
                new SensorState
                {
                    Site = "kukes", Tunnel = "t03", Kind = "gas", Sensor = "gas-0007", NewestMs = 5000, LastSeenMs = 1,
                    Rules = new(StringComparer.Ordinal)
                    {
                        ["co-twa"] = new RuleState { Level = AlertLevel.Normal, Average = window },
                        ["gone"] = new RuleState { Level = AlertLevel.Amber },
                    },
                },
            ],
        };
        StateJournal.Apply(state,
            [Record(1, "co-twa", AlertLevel.Red), Record(2, "gone", AlertLevel.Normal), Record(3, "co-instant", AlertLevel.Amber, "gas-0008")]);

        var first = state.Sensors[0];
        Assert.Equal(AlertLevel.Red, first.Rules["co-twa"].Level);
        Assert.Same(window, first.Rules["co-twa"].Average);
        Assert.False(first.Rules.ContainsKey("gone"));
        Assert.Equal(5000, first.NewestMs); // the newer of the snapshot's and the journal's
        Assert.Equal(4000, first.LastSeenMs);
        var added = state.Sensors[1];
        Assert.Equal(("gas-0008", AlertLevel.Amber), (added.Sensor, added.Rules["co-instant"].Level));
    }

    [Fact]
    public void Apply_MergesARecordsNewestEpisodesOntoTheOnesBefore_AsTheEngineKeepsThem()
    {
        // The snapshot: sixteen episodes, the last still active.
        var before = Enumerable.Range(1, 16).Select(i => new Episode { FromMs = i * 10, ToMs = i == 16 ? null : i * 10 + 5 }).ToList();
        var state = new AlertEngineState
        {
            Sensors = [new SensorState { Site = "kukes", Tunnel = "t03", Kind = "gas", Sensor = "gas-0007", Rules = new(StringComparer.Ordinal) { ["co-instant"] = new RuleState { Episodes = before } } }],
        };
        // A record of the old format: every episode the rule kept, after its batch ended the active one and raised one more.
        var whole = Record(1, "co-instant", AlertLevel.Red);
        whole.Changes[0].State!.Episodes = [.. Enumerable.Range(2, 15).Select(i => new Episode { FromMs = i * 10, ToMs = i * 10 + 5 }), new Episode { FromMs = 170 }];
        // Then one with the newest only: its batch ended that one and raised two more.
        var newest = Record(2, "co-instant", AlertLevel.Red);
        newest.Changes[0].State!.Episodes = [new Episode { FromMs = 170, ToMs = 175 }, new Episode { FromMs = 180, ToMs = 185 }, new Episode { FromMs = 190 }];

        StateJournal.Apply(state, [whole, newest]);

        var expected = Enumerable.Range(4, 16).Select(i => (i * 10L, i == 19 ? (long?)null : i * 10 + 5L));
        Assert.Equal(expected, state.Sensors[0].Rules["co-instant"].Episodes.Select(e => (e.FromMs, e.ToMs)));
    }
}
