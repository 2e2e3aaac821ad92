using System.Text.Json.Nodes;
using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;
using static Telemetry.Dashboards.InfluxQl;

namespace Telemetry.Dashboards;

/// <summary>Panels over the <c>alerts</c> measurement (SPEC §6), shared by the overview and the alerts dashboard.</summary>
internal static class AlertPanels
{
    /// <summary>
    /// How far back an alert may have been raised and still show as active: the alerts measurement holds events,
    /// not state, so the last event of each alert within this horizon decides.
    /// </summary>
    public static readonly TimeSpan ActiveHorizon = TimeSpan.FromDays(30);

    private static readonly string LastEvent =
        $"SELECT last({Id(StorageNames.AlertValue)}) AS {Id(StorageNames.AlertValue)}, {Id(StorageNames.TagLevel)}, {Id(StorageNames.TagState)}, "
        + $"{Id(StorageNames.AlertThreshold)}, {Id(StorageNames.AlertMessage)} FROM {Id(Schema.Alerts)} WHERE {SensorFilter}";

    public static JsonObject Active() => Grafana.Table("Active alerts",
        $"The latest event of every alert raised in the last {Duration(ActiveHorizon)}, without those whose latest event cleared them.",
        new JsonArray(Grafana.LevelColumn()),
        new JsonArray(Grafana.ExcludeRows(StorageNames.TagLevel, AlertLevel.Normal.LevelName())),
        Grafana.Target("A", $"{LastEvent} AND time > now() - {Duration(ActiveHorizon)} GROUP BY {BySensor}, {Id(StorageNames.TagRule)}", "table"));

    public static JsonObject Silent()
    {
        var stale = DefaultRules.All.Single(r => r.Type == RuleType.Stale);
        return Grafana.Table("Silent sensors",
            $"Sensors that sent nothing for longer than {Duration(stale.After ?? TimeSpan.Zero)} (rule {stale.Id}) and have not reported since.",
            new JsonArray(Grafana.LevelColumn()),
            new JsonArray(Grafana.ExcludeRows(StorageNames.TagLevel, AlertLevel.Normal.LevelName())),
            Grafana.Target("A", $"{LastEvent} AND {Id(StorageNames.TagRule)} = {Str(stale.Id)} AND time > now() - {Duration(ActiveHorizon)} GROUP BY {BySensor}", "table"));
    }

    public static JsonObject History() => Grafana.Table("Alert history",
        "Every alert event in the time range, newest first: raised, escalated, deescalated, cleared and acknowledged.",
        new JsonArray(Grafana.LevelColumn()), [],
        Grafana.Target("A", $"SELECT {string.Join(", ", new[] { StorageNames.TagLevel, StorageNames.TagState, StorageNames.TagRule, StorageNames.TagKind, Schema.TagSite, Schema.TagTunnel, Schema.TagSensor, StorageNames.AlertValue, StorageNames.AlertThreshold, StorageNames.AlertMessage, StorageNames.AlertId }.Select(Id))} "
            + $"FROM {Id(Schema.Alerts)} {ReadingPanels.Where()} ORDER BY time DESC LIMIT 1000", "table"));

    public static JsonObject EventsByLevel() => Grafana.Bars("Alert events by level", "Number of alert events per interval, by the level they left the alert in.", "short",
        Grafana.Target("A", $"SELECT count({Id(StorageNames.AlertValue)}) FROM {Id(Schema.Alerts)} {ReadingPanels.Where()} GROUP BY time({Interval}), {Id(StorageNames.TagLevel)} fill(none)", alias: "$tag_level"));
}
