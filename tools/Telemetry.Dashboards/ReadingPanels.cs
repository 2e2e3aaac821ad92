using System.Text.Json.Nodes;
using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;
using static Telemetry.Dashboards.InfluxQl;

namespace Telemetry.Dashboards;

/// <summary>Panels over the reading measurements (humidity, gas, strain), one series per sensor.</summary>
internal static class ReadingPanels
{
    /// <summary>The fields a kind's dashboard plots on its own: measured and derived, not device health.</summary>
    public static IEnumerable<FieldSpec> Measured(SensorKind kind) =>
        FieldCatalogue.StoredFor(kind).Where(f => !FieldCatalogue.DeviceHealth.Contains(f));

    public static string Where(string extra = "") => $"WHERE {SensorFilter}{extra} AND {TimeFilter}";

    /// <summary>The field over time, with the kind's threshold rules for it as coloured areas.</summary>
    public static JsonObject Series(SensorKind kind, FieldSpec field)
    {
        var rules = Thresholds.Rules(kind, field, RuleType.Threshold);
        return Grafana.TimeSeries(Units.Title(field), $"{field.Name} ({field.Unit}), mean per interval. " + Thresholds.Describe(rules, field.Unit),
            Units.Grafana(field), rules.Count == 0 ? null : Thresholds.Steps(rules),
            Grafana.SensorTarget($"SELECT mean({Id(field.Name)}) FROM {Id(kind.Name())} {Where()} GROUP BY time({Interval}), {BySensor} fill(none)"));
    }

    /// <summary>
    /// Moving average over a rule's window (15-minute STEL) on one-minute buckets. fill(previous) holds a value
    /// until the next reading, which makes the mean time-weighted like the rule's.
    /// </summary>
    public static JsonObject MovingAverage(SensorKind kind, FieldSpec field, RuleDefinition rule)
    {
        var window = rule.Window ?? throw new ArgumentException($"{rule.Id} has no window", nameof(rule));
        var points = (int)(window / TimeSpan.FromMinutes(1));
        return Grafana.TimeSeries($"{Units.Title(field)}: {Duration(window)} average", $"Moving {Duration(window)} time-weighted average of {field.Name} ({field.Unit}). " + Thresholds.Describe([rule], field.Unit),
            Units.Grafana(field), Thresholds.Steps([rule]),
            Grafana.SensorTarget($"SELECT moving_average(mean({Id(field.Name)}), {points}) FROM {Id(kind.Name())} {Where()} GROUP BY time(1m), {BySensor} fill(previous)"));
    }

    /// <summary>The mean over a rule's window up to now (8-hour TWA, 15-minute STEL), one bar per sensor.</summary>
    public static JsonObject WindowAverageNow(SensorKind kind, FieldSpec field, RuleDefinition rule)
    {
        var window = rule.Window ?? throw new ArgumentException($"{rule.Id} has no window", nameof(rule));
        return Grafana.BarGauge($"{Units.Title(field)}: {Duration(window)} average now", $"Mean of {field.Name} ({field.Unit}) over the last {Duration(window)}, whatever the dashboard's time range. " + Thresholds.Describe([rule], field.Unit),
            Units.Grafana(field), Thresholds.Steps([rule]),
            Grafana.SensorTarget($"SELECT mean({Id(field.Name)}) FROM {Id(kind.Name())} WHERE {SensorFilter} AND time > now() - {Duration(window)} GROUP BY {BySensor}"));
    }

    /// <summary>The latest value of every stored field per sensor, each column coloured by its threshold rules.</summary>
    public static JsonObject Latest(SensorKind kind)
    {
        var fields = FieldCatalogue.StoredFor(kind);
        var overrides = new JsonArray();
        var described = new List<string>();
        foreach (var field in fields)
        {
            var rules = Thresholds.Rules(kind, field, RuleType.Threshold);
            overrides.Add(rules.Count == 0
                ? Grafana.Override(field.Name, Grafana.Property("unit", Units.Grafana(field)))
                : Grafana.ColumnOverride(field.Name, Units.Grafana(field), Thresholds.Steps(rules)));
            if (rules.Count > 0)
            {
                described.Add(Thresholds.Describe(rules, field.Unit));
            }
        }
        var select = string.Join(", ", fields.Select(f => $"last({Id(f.Name)}) AS {Id(f.Name)}"));
        return Grafana.Table($"{Units.Title(kind)}: latest per sensor", "The latest value of each field in the time range. " + string.Join(" ", described),
            overrides, new JsonArray(Grafana.HideColumns("Time")),
            Grafana.Target("A", $"SELECT {select} FROM {Id(kind.Name())} {Where()} GROUP BY {BySensor}", "table"));
    }

    /// <summary>When each sensor last reported (oldest first): a silent sensor sinks to the top.</summary>
    public static JsonObject LastSeen()
    {
        var targets = SensorKinds.All.Select((kind, i) =>
        {
            var field = FieldCatalogue.ValuesFor(kind)[0];
            return Grafana.Target(((char)('A' + i)).ToString(), $"SELECT last({Id(field.Name)}) AS {Id(kind.Name())} FROM {Id(kind.Name())} {Where()} GROUP BY {BySensor}", "table");
        }).ToArray();
        var panel = Grafana.Table("Last reading per sensor", "Time of each sensor's latest reading in the time range, oldest first. A sensor silent for longer than the rule sensor-stale allows is also listed under Silent sensors.",
            [], new JsonArray(Grafana.Merge()), targets);
        panel["options"]!["sortBy"] = new JsonArray(new JsonObject { ["displayName"] = "Time", ["desc"] = false });
        return panel;
    }

    /// <summary>Battery and signal strength of every sensor of the kind.</summary>
    public static IEnumerable<JsonObject> DeviceHealth(SensorKind kind) => FieldCatalogue.DeviceHealth.Select(f => Series(kind, f));
}
