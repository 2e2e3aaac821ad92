using System.Globalization;
using Telemetry.Alerting.Rules;
using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;

namespace Telemetry.Alerting.Engine;

/// <summary>The sentences people read in an event: "CO 15-minute average 112.4 ppm is above the red level 100 ppm".</summary>
internal static class Messages
{
    private static readonly Dictionary<string, string> Names = new()
    {
        ["ch4_lel_pct"] = "Methane",
        ["co_ppm"] = "CO",
        ["h2s_ppm"] = "H2S",
        ["o2_pct"] = "O2",
        ["co2_ppm"] = "CO2",
        ["no2_ppm"] = "NO2",
        ["rh_pct"] = "Relative humidity",
        ["temp_c"] = "Temperature",
        ["dew_point_c"] = "Dew point",
        ["microstrain"] = "Strain",
        ["battery_v"] = "Battery",
        ["rssi_dbm"] = "Signal",
    };

    public static string Level(AlertLevel level) => level switch
    {
        AlertLevel.Amber => "amber",
        AlertLevel.Red => "red",
        _ => "normal",
    };

    public static string Transition(RuleDefinition rule, Field field, double baseline, AlertLevel from, AlertLevel to, double value, double threshold)
    {
        var spec = field.Spec();
        var unit = rule.Type == RuleType.Rate ? spec.Unit + "/h" : spec.Unit;
        var what = Names.GetValueOrDefault(rule.Field, rule.Field);
        if (field == Field.Microstrain && baseline != 0)
        {
            what += " change from baseline";
        }
        what += rule.Type switch
        {
            RuleType.Average => $" {Durations.Adjective(rule.Window!.Value)} average",
            RuleType.Rate => $" {Durations.Adjective(rule.Window!.Value)} rate",
            _ => "",
        };
        var abs = rule.Direction == RuleDirection.Abs;
        var limit = abs ? $"±{Num(threshold)}" : Num(threshold);
        if (to > from)
        {
            var side = rule.Direction == RuleDirection.Below ? "below" : abs ? "beyond" : "above";
            return $"{what} {Num(value)} {unit} is {side} the {Level(to)} level {limit} {unit}";
        }
        var back = rule.Direction == RuleDirection.Below ? "back above" : abs ? "back within" : "back below";
        return $"{what} {Num(value)} {unit} is {back} the {Level(from)} level {limit} {unit}";
    }

    public static string Stale(string sensor, TimeSpan after, long lastMs) =>
        $"No reading from {sensor} for more than {Durations.Format(after)} (last at {Ts(lastMs)})";

    public static string NeverSeen(string sensor, TimeSpan after) =>
        $"No reading from {sensor} in the {Durations.Format(after)} since the service started: it is registered but has not reported";

    public static string Fresh(string sensor, long silentMs) =>
        $"{sensor} is reporting again after {Durations.Format(TimeSpan.FromSeconds(Math.Round(silentMs / 1000.0)))} of silence";

    public static string Acknowledged(string by, string? note) =>
        string.IsNullOrWhiteSpace(note) ? $"Acknowledged by {by}" : $"Acknowledged by {by}: {note}";

    public static string Num(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);

    private static string Ts(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
