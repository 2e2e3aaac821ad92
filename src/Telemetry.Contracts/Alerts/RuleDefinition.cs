namespace Telemetry.Contracts.Alerts;

/// <summary>Rule types of SPEC §7.2.</summary>
public enum RuleType : byte
{
    Threshold,
    Average,
    Rate,
    Stale,
}

/// <summary>Which side of a level is dangerous.</summary>
public enum RuleDirection : byte
{
    Above,
    Below,
    /// <summary>The absolute value above the level (strain in either direction).</summary>
    Abs,
}

/// <summary>Alert levels of SPEC §7.1 (trigger-action-response plan).</summary>
public enum AlertLevel : byte
{
    Normal,
    Amber,
    Red,
}

/// <summary>
/// One alert rule as configuration sees it (SPEC §7.2): every default of §7.3 is one of these, and
/// <c>Telemetry:Alerts:Rules:{id}</c> overrides any member. The single source of the levels that the
/// alert engine applies and the dashboards colour by.
/// </summary>
public sealed record RuleDefinition
{
    public required string Id { get; init; }
    public required RuleType Type { get; init; }

    /// <summary><c>humidity</c>, <c>gas</c>, <c>strain</c>, or <c>any</c> (stale rules).</summary>
    public required string Kind { get; init; }

    /// <summary>The watched field's wire name; empty for stale rules.</summary>
    public string Field { get; init; } = "";

    public RuleDirection Direction { get; init; } = RuleDirection.Above;
    public double? Amber { get; init; }
    public double? Red { get; init; }

    /// <summary>Absolute band; null means 5 % of each level.</summary>
    public double? Hysteresis { get; init; }

    public TimeSpan? For { get; init; }
    public TimeSpan? Window { get; init; }
    public TimeSpan? After { get; init; }

    /// <summary>How often an unacknowledged red alert is notified again (default 15 min).</summary>
    public TimeSpan? Repeat { get; init; }

    public bool Enabled { get; init; } = true;

    public static readonly TimeSpan DefaultRepeat = TimeSpan.FromMinutes(15);

    /// <summary>The hysteresis band for a level: the configured one, else 5 % of the level.</summary>
    public double HysteresisFor(double level) => Hysteresis ?? Math.Abs(level) * 0.05;
}

/// <summary>The default rule table of SPEC §7.3, exactly.</summary>
public static class DefaultRules
{
    private static readonly TimeSpan Stel = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan Twa = TimeSpan.FromHours(8);

    public static IReadOnlyList<RuleDefinition> All { get; } =
    [
        new() { Id = "ch4-lel", Type = RuleType.Threshold, Kind = "gas", Field = "ch4_lel_pct", Amber = 10, Red = 20 },
        new() { Id = "co-instant", Type = RuleType.Threshold, Kind = "gas", Field = "co_ppm", Amber = 30, Red = 100 },
        new() { Id = "co-stel", Type = RuleType.Average, Kind = "gas", Field = "co_ppm", Window = Stel, Red = 100 },
        new() { Id = "co-twa", Type = RuleType.Average, Kind = "gas", Field = "co_ppm", Window = Twa, Amber = 20 },
        new() { Id = "h2s-instant", Type = RuleType.Threshold, Kind = "gas", Field = "h2s_ppm", Amber = 5, Red = 10 },
        new() { Id = "h2s-stel", Type = RuleType.Average, Kind = "gas", Field = "h2s_ppm", Window = Stel, Red = 10 },
        new() { Id = "h2s-twa", Type = RuleType.Average, Kind = "gas", Field = "h2s_ppm", Window = Twa, Amber = 5 },
        new() { Id = "o2-low", Type = RuleType.Threshold, Kind = "gas", Field = "o2_pct", Direction = RuleDirection.Below, Amber = 19.5, Red = 19.0 },
        new() { Id = "o2-high", Type = RuleType.Threshold, Kind = "gas", Field = "o2_pct", Amber = 23.0, Red = 23.5 },
        new() { Id = "co2-stel", Type = RuleType.Average, Kind = "gas", Field = "co2_ppm", Window = Stel, Red = 15000 },
        new() { Id = "co2-twa", Type = RuleType.Average, Kind = "gas", Field = "co2_ppm", Window = Twa, Amber = 5000 },
        new() { Id = "no2-stel", Type = RuleType.Average, Kind = "gas", Field = "no2_ppm", Window = Stel, Red = 1.0 },
        new() { Id = "no2-twa", Type = RuleType.Average, Kind = "gas", Field = "no2_ppm", Window = Twa, Amber = 0.5 },
        new() { Id = "rh-high", Type = RuleType.Threshold, Kind = "humidity", Field = "rh_pct", Amber = 85, Red = 95, For = TimeSpan.FromMinutes(30) },
        new() { Id = "strain-abs", Type = RuleType.Threshold, Kind = "strain", Field = "microstrain", Direction = RuleDirection.Abs, Amber = 1000, Red = 1500 },
        new() { Id = "strain-rate", Type = RuleType.Rate, Kind = "strain", Field = "microstrain", Direction = RuleDirection.Abs, Window = TimeSpan.FromHours(6), Amber = 20, Red = 50 },
        new() { Id = "sensor-stale", Type = RuleType.Stale, Kind = "any", After = TimeSpan.FromMinutes(15), Amber = 0 },
    ];
}
