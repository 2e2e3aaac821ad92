using System.Text.Json;
using Telemetry.Alerting.Registry;
using Telemetry.Alerting.Rules;
using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;

namespace Telemetry.Alerting.Engine;

/// <summary>
/// The SPEC §7 engine. Live state advances only with readings newer than the sensor's newest (equal ones are
/// duplicates); older readings are a backlog, evaluated on a scratch copy so that a dangerous episode inside it is
/// reported (flagged <c>backlog</c>) without touching the live state. docs/alerting.md states the semantics.
/// </summary>
public sealed class AlertEngine : IAlertEngine
{
    private readonly Func<SensorAddress, SensorProfile> _profiles;
    private readonly TimeProvider _time;
    private readonly long _maxHoldMs;
    private readonly AlertEngineState _state;
    private readonly Dictionary<string, SensorState> _sensors = new(StringComparer.Ordinal);
    private readonly List<Reading> _backlog = [];
    private readonly List<Reading> _live = [];

    /// <summary>
    /// Rules whose saved state changed without an event: a backlog array in alarm throughout carries an episode on to its
    /// end. The service journals them with the batch and empties the list, so that a crash after the message is
    /// acknowledged does not take the episode back to its earlier end (the next array would then raise it again).
    /// </summary>
    internal List<(SensorState Sensor, string Rule)> ChangedWithoutEvent { get; } = [];

    /// <param name="profiles">The rules (and strain baseline) of a sensor; called once per sensor per engine.</param>
    /// <param name="time">The clock: stale, <c>for</c>, windows and repeat run on it.</param>
    /// <param name="maxHold">How long a reading's value stands for the time after it, when no newer one comes.</param>
    /// <param name="state">Restored memory (the engine takes ownership), or null to start empty.</param>
    public AlertEngine(Func<SensorAddress, SensorProfile> profiles, TimeProvider time, TimeSpan maxHold, AlertEngineState? state = null)
    {
        ArgumentNullException.ThrowIfNull(profiles);
        ArgumentNullException.ThrowIfNull(time);
        _profiles = profiles;
        _time = time;
        _maxHoldMs = (long)maxHold.TotalMilliseconds;
        _state = state ?? new AlertEngineState();
        var now = NowMs;
        foreach (var s in _state.Sensors)
        {
            _sensors[Key(s.Site, s.Tunnel, s.Sensor)] = s;
            // Silence while this service was down was not witnessed: a sensor gets its full `after` from restart before
            // it counts as stale, so a restart does not raise a stale alert for every sensor at once.
            s.LastSeenMs = Math.Max(s.LastSeenMs, now);
        }
    }

    /// <summary>An engine over a rule table and a registry (the usual wiring).</summary>
    public static AlertEngine Create(AlertRules rules, SensorRegistry registry, TimeProvider time, TimeSpan maxHold, AlertEngineState? state = null)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(registry);
        var engine = new AlertEngine(a =>
        {
            var baseline = registry.TryGet(a.Site, a.Tunnel, a.Sensor, out var e) ? e.Baseline : 0;
            return new SensorProfile(registry.RulesFor(a, rules.Rules), baseline);
        }, time, maxHold, state);
        foreach (var e in registry.Sensors)
        {
            engine.Expect(new SensorAddress(e.Site, e.Tunnel, e.Kind, e.Sensor));
        }
        return engine;
    }

    /// <summary>
    /// Watches a sensor that should report (a registered one) from now on, before its first reading: one that never
    /// reports (dead at installation, wrong topic) is stale after its <c>After</c>, as one that stops reporting is.
    /// </summary>
    public void Expect(SensorAddress sensor)
    {
        ArgumentNullException.ThrowIfNull(sensor);
        if (!_sensors.ContainsKey(sensor.Key))
        {
            SensorFor(sensor, new List<AlertEvent>());
        }
    }

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    public void Evaluate(SensorAddress sensor, IReadOnlyList<Reading> readings, ICollection<AlertEvent> events)
    {
        ArgumentNullException.ThrowIfNull(sensor);
        ArgumentNullException.ThrowIfNull(readings);
        ArgumentNullException.ThrowIfNull(events);
        if (readings.Count == 0)
        {
            return;
        }
        var s = SensorFor(sensor, events);
        var profile = s.Profile!;
        var now = NowMs;

        // The batch in time order; equal timestamps keep the first (a duplicate inside one array is still a duplicate).
        // One reading per message is the usual case: no sorting, no garbage.
        IReadOnlyList<Reading> ordered = readings.Count == 1
            ? (readings[0].HasAnyField ? readings : [])
            : readings.Where(r => r.HasAnyField).OrderBy(r => r.TimestampMs).ToList();
        var backlog = _backlog;
        var live = _live;
        backlog.Clear();
        live.Clear();
        long? previous = null;
        foreach (var r in ordered)
        {
            // A reading stamped ahead of the service clock (validation allows 5 minutes) counts at the clock's time: had
            // it moved the sensor's newest time ahead, every real-time reading after it would be older, so a backlog
            // (not active, not retained) until the real time caught up with the glitch.
            if (Math.Min(r.TimestampMs, now) >= s.NewestMs)
            {
                // Equal times are told apart per rule (below): a second message with the same time may carry other fields.
                live.Add(r);
                continue;
            }
            if (r.TimestampMs == previous)
            {
                continue;
            }
            previous = r.TimestampMs;
            backlog.Add(r);
        }
        if (ordered.Count > 0)
        {
            ClearStale(s, profile, Math.Max(Math.Min(ordered[^1].TimestampMs, now), s.NewestMs), now, events);
            s.LastSeenMs = Math.Max(s.LastSeenMs, now);
        }
        if (backlog.Count > 0)
        {
            EvaluateBacklog(s, profile, backlog, now, events);
        }
        foreach (var r in live)
        {
            var t = Math.Min(r.TimestampMs, now);
            s.NewestMs = t;
            for (var ri = 0; ri < profile.Rules.Count; ri++)
            {
                var rule = profile.Rules[ri];
                if (rule.Type == RuleType.Stale || !TryInput(rule, s, r, profile.Baseline, out var field, out var v))
                {
                    continue;
                }
                var st = StateFor(s, rule);
                if ((st.LastInputMs is { } seen && r.TimestampMs <= seen) || (st.AheadMs is { } ahead && ahead.Contains(r.TimestampMs)))
                {
                    continue; // this rule has judged a reading of this time already: a duplicate
                }
                st.LastInputMs = t;
                if (st.AheadMs is not null || r.TimestampMs > t)
                {
                    NoteAhead(st, r.TimestampMs, t);
                }
                if (Feed(rule, st, t, v) is { } m)
                {
                    Step(s, rule, field, profile.Baseline, st, m, t, t, now, backlog: false, events);
                }
            }
        }
    }

    public void Tick(ICollection<AlertEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var now = NowMs;
        foreach (var s in _sensors.Values)
        {
            var profile = EnsureProfile(s, s.Address ?? Address(s), events);
            // The clock moves a sensor's windows only while its last value still holds; after that they wait for data
            // (and `stale` says the sensor is silent): an alert is never cleared, nor raised, by silence alone.
            for (var ri = 0; ri < profile.Rules.Count; ri++)
            {
                var rule = profile.Rules[ri];
                if (rule.Type == RuleType.Stale)
                {
                    TickStale(s, rule, now, events);
                    continue;
                }
                if (!s.Rules.TryGetValue(rule.Id, out var st))
                {
                    continue;
                }
                // ... and only while the rule's own field's last value holds: other fields arriving are not its data.
                var newest = st.LastInputMs ?? s.NewestMs;
                var at = Math.Max(newest, Math.Min(now, newest + _maxHoldMs));
                var field = FieldOf(rule, s);
                double? m = rule.Type switch
                {
                    RuleType.Average => st.Average?.Mean(at, _maxHoldMs),
                    RuleType.Rate => st.Rate?.PerHour(at),
                    _ => null,
                };
                if (m is { } metric)
                {
                    st.LastMetric = metric;
                    Step(s, rule, field, profile.Baseline, st, metric, at, at, now, backlog: false, events);
                }
                else if (rule.Type == RuleType.Threshold && rule.For is { } f && f > TimeSpan.Zero && st.LastMetric is { } last)
                {
                    // A pending `for` completes on the clock, with the last value, if that value still holds then.
                    var target = Target(rule, st, last, at);
                    if (target > st.Level)
                    {
                        var since = (target == AlertLevel.Red ? st.RedPendingMs : st.AmberPendingMs)!.Value;
                        Transition(s, rule, field, profile.Baseline, st, target, last, since + (long)f.TotalMilliseconds, now, backlog: false, events);
                    }
                }
                Repeat(s, rule, st, now, events);
            }
        }
    }

    public AckResult Acknowledge(string alertId, string by, string? note, ICollection<AlertEvent> events)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(alertId);
        ArgumentException.ThrowIfNullOrWhiteSpace(by);
        ArgumentNullException.ThrowIfNull(events);
        var cut = alertId.LastIndexOf('/');
        if (cut <= 0 || !_sensors.TryGetValue(alertId[..cut], out var s) || !s.Rules.TryGetValue(alertId[(cut + 1)..], out var st) || st.Level == AlertLevel.Normal)
        {
            return AckResult.NotFound;
        }
        if (st.AckBy is not null)
        {
            return AckResult.AlreadyAcknowledged;
        }
        var now = NowMs;
        st.AckBy = by;
        st.AckNote = note;
        st.AckMs = now;
        var rule = s.Profile?.Rules.FirstOrDefault(r => r.Id == alertId[(cut + 1)..]);
        events.Add(Event(s, alertId[(cut + 1)..], rule?.Field ?? "", AlertState.Acknowledged, st.Level, st.Level, st.Value, st.Threshold, now,
            Messages.Acknowledged(by, note), backlog: false) with { AcknowledgedBy = by, Note = note });
        return AckResult.Acknowledged;
    }

    /// <summary>Takes back an acknowledgement that could not be saved (it was never confirmed).</summary>
    internal void Unacknowledge(string alertId, string by)
    {
        var cut = alertId.LastIndexOf('/');
        if (cut > 0 && _sensors.TryGetValue(alertId[..cut], out var s) && s.Rules.TryGetValue(alertId[(cut + 1)..], out var st) && st.AckBy == by)
        {
            (st.AckBy, st.AckNote, st.AckMs) = (null, null, null);
        }
    }

    public IReadOnlyList<ActiveAlert> ActiveAlerts()
    {
        var list = new List<ActiveAlert>();
        foreach (var s in _sensors.Values)
        {
            foreach (var (id, st) in s.Rules)
            {
                if (st.Level == AlertLevel.Normal)
                {
                    continue;
                }
                list.Add(new ActiveAlert
                {
                    AlertId = $"{Key(s.Site, s.Tunnel, s.Sensor)}/{id}",
                    Site = s.Site,
                    Tunnel = s.Tunnel,
                    Sensor = s.Sensor,
                    Kind = s.Kind,
                    Rule = id,
                    Level = Messages.Level(st.Level),
                    State = st.LastState,
                    Since = DateTimeOffset.FromUnixTimeMilliseconds(st.SinceMs),
                    Value = st.Value,
                    Threshold = st.Threshold,
                    Message = st.Message,
                    AcknowledgedBy = st.AckBy,
                    AcknowledgedAt = st.AckMs is { } a ? DateTimeOffset.FromUnixTimeMilliseconds(a) : null,
                    Note = st.AckNote,
                });
            }
        }
        return list.OrderBy(a => a.AlertId, StringComparer.Ordinal).ToList();
    }

    public void CurrentStates(ICollection<AlertEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        foreach (var s in _sensors.Values)
        {
            foreach (var (id, st) in s.Rules)
            {
                if (st.Level == AlertLevel.Normal)
                {
                    continue;
                }
                // Restored sensors have no profile yet (it is loaded, and reconciled, at their first tick or reading).
                var field = (s.Profile ?? _profiles(s.Address ?? Address(s))).Rules.FirstOrDefault(r => r.Id == id)?.Field ?? "";
                var previous = st.LastState == AlertState.Raised ? AlertLevel.Normal : st.Level == AlertLevel.Red ? AlertLevel.Amber : AlertLevel.Red;
                events.Add(st.AckBy is { } by
                    ? Event(s, id, field, AlertState.Acknowledged, st.Level, st.Level, st.Value, st.Threshold, st.AckMs ?? st.SinceMs,
                        Messages.Acknowledged(by, st.AckNote), backlog: false) with { AcknowledgedBy = by, Note = st.AckNote }
                    : Event(s, id, field, st.LastState, st.Level, previous, st.Value, st.Threshold, st.SinceMs, st.Message ?? "", backlog: false));
            }
        }
    }

    /// <summary>
    /// What MQTT must be told so that its retained messages (by alert id) match the alerts this engine knows: an active
    /// alert whose retained state is missing or differs (its state, level or acknowledgement), and an alert the engine
    /// has cleared that is still retained as active — as after a crash between saving a transition and publishing it.
    /// A retained alert the engine knows nothing of (state lost, a rule removed) is left alone: the engine does not
    /// clear an alarm it cannot judge.
    /// </summary>
    public void RetainedCorrections(IReadOnlyDictionary<string, AlertEvent> retained, ICollection<AlertEvent> corrections)
    {
        ArgumentNullException.ThrowIfNull(retained);
        ArgumentNullException.ThrowIfNull(corrections);
        var current = new List<AlertEvent>();
        CurrentStates(current);
        foreach (var e in current)
        {
            if (!retained.TryGetValue(e.AlertId, out var r) || r.State != e.State || r.Level != e.Level || r.AcknowledgedBy != e.AcknowledgedBy)
            {
                corrections.Add(e);
            }
        }
        foreach (var (id, r) in retained)
        {
            if (r.State == AlertState.Cleared || r.Backlog)
            {
                continue;
            }
            var parts = id.Split('/');
            if (parts.Length != 4 || SensorOf(parts[0], parts[1], parts[2]) is not { } s
                || !s.Rules.TryGetValue(parts[3], out var st) || st.Level != AlertLevel.Normal)
            {
                continue;
            }
            var clearedMs = st.Episodes.Count > 0 && st.Episodes[^1].ToMs is { } to ? to : NowMs;
            corrections.Add(Event(s, parts[3], r.Field, AlertState.Cleared, AlertLevel.Normal, LevelOf(r), st.Value, st.Threshold, clearedMs,
                st.Message ?? "", backlog: false));
        }
    }

    public AlertEngineState Snapshot() =>
        JsonSerializer.Deserialize<AlertEngineState>(JsonSerializer.SerializeToUtf8Bytes(_state, StateJson.Options), StateJson.Options)!;

    /// <summary>The engine's memory serialized (cheaper than <see cref="Snapshot"/> when the bytes are what is wanted).</summary>
    public byte[] SerializeState() => JsonSerializer.SerializeToUtf8Bytes(_state, StateJson.Options);

    /// <summary>The live memory, for a caller that serializes it under its own lock.</summary>
    internal AlertEngineState State => _state;

    /// <summary>A sensor's live memory by its address parts, or null when the engine has none.</summary>
    internal SensorState? SensorOf(string site, string tunnel, string sensor) =>
        _sensors.GetValueOrDefault(Key(site, tunnel, sensor));

    private SensorState SensorFor(SensorAddress a, ICollection<AlertEvent> events)
    {
        var key = a.Key;
        if (!_sensors.TryGetValue(key, out var s))
        {
            s = new SensorState { Site = a.Site, Tunnel = a.Tunnel, Kind = a.Kind.Name(), Sensor = a.Sensor, LastSeenMs = NowMs };
            _sensors[key] = s;
            _state.Sensors.Add(s);
        }
        else if (s.NewestMs == long.MinValue && s.Kind != a.Kind.Name())
        {
            // Watched from the registry (Expect) under another kind than the one it reports on: its readings decide.
            s.Kind = a.Kind.Name();
            s.Profile = null;
        }
        EnsureProfile(s, a, events);
        return s;
    }

    private SensorProfile EnsureProfile(SensorState s, SensorAddress a, ICollection<AlertEvent> events)
    {
        if (s.Profile is null)
        {
            s.Address = a;
            s.Profile = _profiles(a);
            Reconcile(s, events);
        }
        return s.Profile;
    }

    // Rules may change between runs: state of a rule that no longer applies goes, and an alert it held is cleared so
    // that no retained MQTT message outlives it.
    private void Reconcile(SensorState s, ICollection<AlertEvent> events)
    {
        var now = NowMs;
        foreach (var id in s.Rules.Keys.ToList())
        {
            var rule = s.Profile!.Rules.FirstOrDefault(r => r.Id == id);
            var st = s.Rules[id];
            if (rule is null)
            {
                if (st.Level != AlertLevel.Normal)
                {
                    events.Add(Event(s, id, "", AlertState.Cleared, AlertLevel.Normal, st.Level, st.Value, st.Threshold, now,
                        $"Rule {id} no longer applies to this sensor", backlog: false));
                }
                s.Rules.Remove(id);
                continue;
            }
            if (st.Average is { } avg && rule.Window is { } w && avg.WindowMs != (long)w.TotalMilliseconds)
            {
                st.Average = null;
            }
            if (st.Rate is { } rate && rule.Window is { } rw && rate.WindowMs != (long)rw.TotalMilliseconds)
            {
                st.Rate = null;
            }
        }
    }

    private void EvaluateBacklog(SensorState s, SensorProfile profile, List<Reading> backlog, long now, ICollection<AlertEvent> events)
    {
        for (var ri = 0; ri < profile.Rules.Count; ri++)
        {
            var rule = profile.Rules[ri];
            if (rule.Type == RuleType.Stale)
            {
                continue;
            }
            var field = FieldOf(rule, s);
            long? firstMs = null;
            foreach (var r in backlog)
            {
                if (TryInput(rule, s, r, profile.Baseline, out _, out _))
                {
                    firstMs = r.TimestampMs;
                    break;
                }
            }
            if (firstMs is not { } first)
            {
                continue;
            }
            s.Rules.TryGetValue(rule.Id, out var live);
            // A logger's backlog in several arrays (SPEC §4 caps one): an episode still in alarm at the end of the last one,
            // within MaxHold of this one's first reading, goes on here. This array is judged from that episode's level, so
            // that what it does next (a clear, past the hysteresis; a change of level) is reported as that episode's, and
            // staying in alarm raises nothing again.
            var carried = live?.Episodes.LastOrDefault(x => x.OpenEnded && x.ToMs is { } to && to < first && first - to <= _maxHoldMs);
            var scratch = new RuleState { Level = carried is null ? AlertLevel.Normal : carried.EndLevel ?? AlertLevel.Amber };
            // An average's or a rate's scratch window starts empty, without the readings of the array before: until it
            // spans the rule's window its metric is not the carried episode's (a first low reading is not a 15-minute
            // average), so the episode's level is not judged on it before then.
            var judgeFrom = carried is not null && rule.Type is RuleType.Average or RuleType.Rate && rule.Window is { } w
                ? first + (long)w.TotalMilliseconds
                : long.MinValue;
            var found = new List<AlertEvent>();
            foreach (var r in backlog)
            {
                if (TryInput(rule, s, r, profile.Baseline, out _, out var v) && Feed(rule, scratch, r.TimestampMs, v) is { } m
                    && r.TimestampMs >= judgeFrom)
                {
                    Step(s, rule, field, profile.Baseline, scratch, m, r.TimestampMs, r.TimestampMs, now, backlog: true, found);
                }
            }
            var end = backlog[^1].TimestampMs;
            if (carried is not null && found.Count == 0)
            {
                // In alarm at the same level throughout: the episode now ends with this array.
                live!.Episodes.Remove(carried);
                live.AddEpisode(new Episode { FromMs = carried.FromMs, ToMs = end, OpenEnded = true, EndLevel = scratch.Level });
                ChangedWithoutEvent.Add((s, rule.Id));
                continue;
            }
            if (found.Count == 0)
            {
                continue;
            }
            live ??= StateFor(s, rule);
            // Group into episodes (raised … cleared) and report each one no earlier report overlaps: a replayed backlog,
            // or a stretch the live state already judged, stays quiet. The carried episode's events come first.
            var group = new List<AlertEvent>();
            foreach (var e in found)
            {
                if (e.State == AlertState.Raised && group.Count > 0)
                {
                    Flush(group);
                }
                group.Add(e);
                if (e.State == AlertState.Cleared)
                {
                    Flush(group);
                }
            }
            Flush(group);

            void Flush(List<AlertEvent> g)
            {
                if (g.Count == 0)
                {
                    return;
                }
                var open = g[^1].State != AlertState.Cleared;
                var to = open ? end : g[^1].Ts.ToUnixTimeMilliseconds();
                var endLevel = open ? LevelOf(g[^1]) : (AlertLevel?)null;
                if (carried is { } c)
                {
                    // Its raise was reported with an earlier array: the rest of its events are news, and it now ends here.
                    carried = null;
                    foreach (var e in g)
                    {
                        events.Add(e);
                    }
                    live.Episodes.Remove(c);
                    live.AddEpisode(new Episode { FromMs = c.FromMs, ToMs = to, OpenEnded = open, EndLevel = endLevel });
                }
                else
                {
                    var from = g[0].Ts.ToUnixTimeMilliseconds();
                    if (!live.Episodes.Any(x => x.FromMs <= to && from <= (x.ToMs ?? long.MaxValue)))
                    {
                        foreach (var e in g)
                        {
                            events.Add(e);
                        }
                        live.AddEpisode(new Episode { FromMs = from, ToMs = to, OpenEnded = open, EndLevel = endLevel });
                    }
                }
                g.Clear();
            }
        }
    }

    // An active event's level (amber or red) back from its text.
    private static AlertLevel LevelOf(AlertEvent e) => e.Level == Messages.Level(AlertLevel.Red) ? AlertLevel.Red : AlertLevel.Amber;

    // A reading judged at the clock's time keeps its own time until the clock passes it, so that a redelivery of it is
    // still known as a duplicate (LastInputMs holds the clock's time, not its own). Off the usual path: only for a
    // sensor whose clock runs ahead of ours.
    private static void NoteAhead(RuleState st, long own, long judgedAt)
    {
        var ahead = st.AheadMs ??= [];
        for (var i = ahead.Count - 1; i >= 0; i--)
        {
            if (ahead[i] <= judgedAt)
            {
                ahead.RemoveAt(i);
            }
        }
        if (own > judgedAt)
        {
            ahead.Add(own);
        }
        if (ahead.Count == 0)
        {
            st.AheadMs = null;
        }
    }

    private double? Feed(RuleDefinition rule, RuleState st, long t, double v)
    {
        switch (rule.Type)
        {
            case RuleType.Average:
                var avg = st.Average ??= AverageWindow.For(rule.Window!.Value);
                avg.Add(t, v, _maxHoldMs);
                return st.LastMetric = avg.Mean(t, _maxHoldMs);
            case RuleType.Rate:
                var rate = st.Rate ??= RateWindow.For(rule.Window!.Value);
                rate.Add(t, v);
                var perHour = rate.PerHour(t);
                if (perHour is not null)
                {
                    st.LastMetric = perHour;
                }
                return perHour;
            default:
                return st.LastMetric = v;
        }
    }

    private static void Step(SensorState s, RuleDefinition rule, Field field, double baseline, RuleState st, double m, long t, long at, long now, bool backlog, ICollection<AlertEvent> events)
    {
        UpdatePending(rule, st, m, t);
        var target = Target(rule, st, m, at);
        if (target != st.Level)
        {
            Transition(s, rule, field, baseline, st, target, m, t, now, backlog, events);
        }
    }

    private static void UpdatePending(RuleDefinition rule, RuleState st, double m, long t)
    {
        st.AmberPendingMs = rule.Amber is { } a && Exceeds(rule, m, a) ? st.AmberPendingMs ?? t : null;
        st.RedPendingMs = rule.Red is { } r && Exceeds(rule, m, r) ? st.RedPendingMs ?? t : null;
    }

    /// <summary>The level a rule should be at: up only once held for <c>for</c>; down only once past level ∓ hysteresis.</summary>
    private static AlertLevel Target(RuleDefinition rule, RuleState st, double m, long at)
    {
        var hold = (long)(rule.For ?? TimeSpan.Zero).TotalMilliseconds;
        var up = AlertLevel.Normal;
        if (rule.Amber is not null && st.AmberPendingMs is { } ap && at - ap >= hold)
        {
            up = AlertLevel.Amber;
        }
        if (rule.Red is not null && st.RedPendingMs is { } rp && at - rp >= hold)
        {
            up = AlertLevel.Red;
        }
        if (up >= st.Level || st.Level == AlertLevel.Normal)
        {
            return up;
        }
        // Red's band reaches down to the amber level at most: with O2's close levels (red 19.0, amber 19.5) 5 % of red is
        // 0.95, and 19.9 % would still read red although it is not even amber.
        var cap = st.Level == AlertLevel.Red && rule.Amber is { } a && rule.Red is { } r ? Math.Abs(r - a) : double.PositiveInfinity;
        if (LevelValue(rule, st.Level) is { } current && StillIn(rule, m, current, cap))
        {
            return st.Level;
        }
        return st.Level == AlertLevel.Red && rule.Amber is { } amber && StillIn(rule, m, amber, double.PositiveInfinity) ? AlertLevel.Amber : up;
    }

    // "At the level" counts as reaching it: a detector alarms at its set point.
    private static bool Exceeds(RuleDefinition rule, double m, double level) => rule.Direction switch
    {
        RuleDirection.Below => m <= level,
        RuleDirection.Abs => Math.Abs(m) >= level,
        _ => m >= level,
    };

    private static bool StillIn(RuleDefinition rule, double m, double level, double maxBand)
    {
        var h = Math.Min(rule.HysteresisFor(level), maxBand);
        return rule.Direction switch
        {
            RuleDirection.Below => m <= level + h,
            RuleDirection.Abs => Math.Abs(m) >= level - h,
            _ => m >= level - h,
        };
    }

    private static double? LevelValue(RuleDefinition rule, AlertLevel level) => level switch
    {
        AlertLevel.Amber => rule.Amber,
        AlertLevel.Red => rule.Red,
        _ => null,
    };

    private static void Transition(SensorState s, RuleDefinition rule, Field field, double baseline, RuleState st, AlertLevel target, double m, long t, long now, bool backlog, ICollection<AlertEvent> events)
    {
        var previous = st.Level;
        var state = previous == AlertLevel.Normal ? AlertState.Raised
            : target == AlertLevel.Normal ? AlertState.Cleared
            : target > previous ? AlertState.Escalated
            : AlertState.Deescalated;
        var threshold = (target > previous ? LevelValue(rule, target) : LevelValue(rule, previous)) ?? double.NaN;
        var message = Messages.Transition(rule, field, baseline, previous, target, m, threshold);
        st.Level = target;
        st.LastState = state;
        st.Value = m;
        st.Threshold = threshold;
        st.Message = message;
        switch (state)
        {
            case AlertState.Raised:
                st.SinceMs = t;
                st.AddEpisode(new Episode { FromMs = t });
                break;
            case AlertState.Escalated:
                // Red is a new call to act: an acknowledgement of amber does not cover it.
                (st.AckBy, st.AckNote, st.AckMs) = (null, null, null);
                break;
            case AlertState.Cleared:
                (st.AckBy, st.AckNote, st.AckMs) = (null, null, null);
                if (st.Episodes.Count > 0 && st.Episodes[^1].ToMs is null)
                {
                    st.Episodes[^1].ToMs = t;
                }
                break;
        }
        st.LastNotifiedMs = now;
        events.Add(Event(s, rule.Id, rule.Field, state, target, previous, m, threshold, t, message, backlog));
    }

    private static void ClearStale(SensorState s, SensorProfile profile, long t, long now, ICollection<AlertEvent> events)
    {
        for (var ri = 0; ri < profile.Rules.Count; ri++)
        {
            var rule = profile.Rules[ri];
            if (rule.Type == RuleType.Stale && s.Rules.TryGetValue(rule.Id, out var st) && st.Level != AlertLevel.Normal)
            {
                var silent = now - s.LastSeenMs;
                st.Level = AlertLevel.Normal;
                st.LastState = AlertState.Cleared;
                (st.AckBy, st.AckNote, st.AckMs) = (null, null, null);
                events.Add(Event(s, rule.Id, "", AlertState.Cleared, AlertLevel.Normal, AlertLevel.Amber, silent / 1000.0,
                    rule.After!.Value.TotalSeconds, t, Messages.Fresh(s.Sensor, silent), backlog: false));
            }
        }
    }

    private static void TickStale(SensorState s, RuleDefinition rule, long now, ICollection<AlertEvent> events)
    {
        var after = rule.After!.Value;
        var st = StateFor(s, rule);
        if (st.Level != AlertLevel.Normal || now - s.LastSeenMs <= (long)after.TotalMilliseconds)
        {
            return;
        }
        st.Level = AlertLevel.Amber;
        st.LastState = AlertState.Raised;
        st.SinceMs = now;
        st.Value = (now - s.LastSeenMs) / 1000.0;
        st.Threshold = after.TotalSeconds;
        st.Message = s.NewestMs == long.MinValue
            ? Messages.NeverSeen(s.Sensor, after)
            : Messages.Stale(s.Sensor, after, s.LastSeenMs);
        st.LastNotifiedMs = now;
        events.Add(Event(s, rule.Id, "", AlertState.Raised, AlertLevel.Amber, AlertLevel.Normal, st.Value, st.Threshold, now, st.Message, backlog: false));
    }

    private static void Repeat(SensorState s, RuleDefinition rule, RuleState st, long now, ICollection<AlertEvent> events)
    {
        var every = (long)(rule.Repeat ?? RuleDefinition.DefaultRepeat).TotalMilliseconds;
        if (st.Level != AlertLevel.Red || st.AckBy is not null || now - st.LastNotifiedMs < every)
        {
            return;
        }
        st.LastNotifiedMs = now;
        events.Add(Event(s, rule.Id, rule.Field, st.LastState, st.Level, st.LastState == AlertState.Raised ? AlertLevel.Normal : AlertLevel.Amber,
            st.Value, st.Threshold, now, "Unacknowledged: " + st.Message, backlog: false) with { Repeat = true });
    }

    private static bool TryInput(RuleDefinition rule, SensorState s, Reading r, double baseline, out Field field, out double value)
    {
        field = FieldOf(rule, s);
        if (!r.TryGet(field, out value))
        {
            return false;
        }
        if (field == Field.Microstrain)
        {
            value -= baseline;
        }
        return true;
    }

    // Looked up per rule per reading: one table per kind built once, not the catalogue's lists (which allocate per call).
    // Keyed by the name alone, so the dictionary hashes it with its fast non-randomized string hash; a (kind, name)
    // tuple key went through the randomized one, and was a tenth of the engine's time in a storm profile.
    private static readonly Dictionary<string, Field>[] Fields = Enum.GetValues<SensorKind>()
        .Select(k => FieldCatalogue.StoredFor(k).ToDictionary(f => f.Name, f => f.Id))
        .ToArray();

    private static Field FieldOf(RuleDefinition rule, SensorState s) =>
        // Rules were validated against their kind; stale rules have no field and never read one.
        Fields[(int)(s.Address ?? Address(s)).Kind].GetValueOrDefault(rule.Field, Field.BatteryV);

    private static RuleState StateFor(SensorState s, RuleDefinition rule)
    {
        if (!s.Rules.TryGetValue(rule.Id, out var st))
        {
            st = new RuleState();
            s.Rules[rule.Id] = st;
        }
        return st;
    }

    private static AlertEvent Event(SensorState s, string rule, string field, AlertState state, AlertLevel level, AlertLevel previous, double? value, double? threshold, long t, string message, bool backlog) => new()
    {
        AlertId = $"{s.Site}/{s.Tunnel}/{s.Sensor}/{rule}",
        Site = s.Site,
        Tunnel = s.Tunnel,
        Sensor = s.Sensor,
        Kind = s.Kind,
        Rule = rule,
        Field = field,
        State = state,
        Level = Messages.Level(level),
        PreviousLevel = Messages.Level(previous),
        Value = value,
        Threshold = threshold is { } th && double.IsFinite(th) ? th : null,
        Ts = DateTimeOffset.FromUnixTimeMilliseconds(t),
        Message = message,
        Backlog = backlog,
    };

    private static SensorAddress Address(SensorState s) => new(s.Site, s.Tunnel, KindOf(s), s.Sensor);

    // State files are written by this engine from validated addresses, so the kind always parses.
    private static SensorKind KindOf(SensorState s) =>
        SensorKinds.TryParse(s.Kind, out var kind) ? kind : throw new InvalidDataException($"alert state: unknown kind '{s.Kind}'");

    private static string Key(string site, string tunnel, string sensor) => $"{site}/{tunnel}/{sensor}";
}

internal static class StateJson
{
    /// <summary>The reflection-based options the state was written with before <see cref="StateJsonContext"/>.</summary>
    public static readonly JsonSerializerOptions Reflection = new()
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The same format, generated at build time (see <see cref="StateJsonContext"/>).</summary>
    public static JsonSerializerOptions Options => StateJsonContext.Default.Options;
}

/// <summary>
/// The state file's and the journal's JSON, generated at build time: the same output as <see cref="StateJson.Reflection"/>
/// (enums as strings, nulls left out), written without the reflection serializer's per-property converter calls. In an
/// alert storm a journal record is written for every batch of transitions.
/// </summary>
[System.Text.Json.Serialization.JsonSourceGenerationOptions(
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
[System.Text.Json.Serialization.JsonSerializable(typeof(Telemetry.Alerting.State.PersistedState))]
[System.Text.Json.Serialization.JsonSerializable(typeof(Telemetry.Alerting.State.JournalRecord))]
[System.Text.Json.Serialization.JsonSerializable(typeof(AlertEngineState))]
internal sealed partial class StateJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
