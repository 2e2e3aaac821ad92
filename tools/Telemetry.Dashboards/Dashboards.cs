using System.Text.Json.Nodes;
using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;
using static Telemetry.Dashboards.InfluxQl;

namespace Telemetry.Dashboards;

internal static class OverviewDashboard
{
    public static Dashboard Build()
    {
        var readings = "/^(" + string.Join("|", SensorKinds.All.Select(k => k.Name())) + ")$/";
        var d = new DashboardBuilder("tunnel-overview", "Tunnel overview",
            "Latest value and state of every sensor, active alerts and silent sensors.", "overview")
        {
            Variables = Grafana.SensorVariables(readings),
            Annotations = Grafana.AlertAnnotations(null),
        };
        d.Add(AlertPanels.Active(), 14, 9).Add(AlertPanels.Silent(), 10, 9);
        foreach (var kind in SensorKinds.All)
        {
            d.Add(ReadingPanels.Latest(kind), 24, 8);
        }
        d.Add(ReadingPanels.LastSeen(), 24, 8);
        return d.Build();
    }
}

/// <summary>What the dashboards of one sensor kind share: sensor variables, that kind's alert annotations, device health last.</summary>
internal static class KindDashboard
{
    public static DashboardBuilder Start(SensorKind kind, string uid, string title, string description, params string[] tags) =>
        new(uid, title, description, tags)
        {
            Variables = Grafana.SensorVariables(Id(kind.Name())),
            Annotations = Grafana.AlertAnnotations(kind),
        };

    public static Dashboard Finish(DashboardBuilder d, SensorKind kind)
    {
        d.NewRow();
        foreach (var panel in ReadingPanels.DeviceHealth(kind))
        {
            d.Add(panel, 12, 6);
        }
        return d.Build();
    }
}

internal static class GasDashboard
{
    public static Dashboard Build()
    {
        const SensorKind kind = SensorKind.Gas;
        var d = KindDashboard.Start(kind, "gas-safety", "Gas safety",
            "Each gas against its instant alarm levels, and the 15-minute (STEL) and 8-hour (TWA) averages against the exposure limits.", "gas", "safety");
        foreach (var field in FieldCatalogue.ValuesFor(kind))
        {
            d.NewRow().Add(ReadingPanels.Series(kind, field), 12);
            foreach (var rule in Thresholds.Rules(kind, field, RuleType.Average).OrderBy(r => r.Window))
            {
                // Short windows read as a curve; an 8-hour average needs more history than a usual time range shows.
                d.Add(rule.Window <= TimeSpan.FromHours(1) ? ReadingPanels.MovingAverage(kind, field, rule) : ReadingPanels.WindowAverageNow(kind, field, rule), 6);
            }
        }
        return KindDashboard.Finish(d, kind);
    }
}

internal static class HumidityDashboard
{
    public static Dashboard Build()
    {
        const SensorKind kind = SensorKind.Humidity;
        var d = KindDashboard.Start(kind, "humidity-dew-point", "Humidity and dew point",
            "Relative humidity against the condensation levels, air temperature, dew point and the margin between them.", "humidity");
        foreach (var field in ReadingPanels.Measured(kind))
        {
            d.Add(ReadingPanels.Series(kind, field));
        }
        var (temp, dew) = (FieldCatalogue.TempC, FieldCatalogue.DewPointC);
        d.Add(Grafana.TimeSeries("Condensation margin", $"{temp.Name} minus {dew.Name}: at 0 °C the air is saturated and water condenses on surfaces.",
            Units.Grafana(temp), null,
            Grafana.SensorTarget($"SELECT mean({Id(temp.Name)}) - mean({Id(dew.Name)}) FROM {Id(kind.Name())} {ReadingPanels.Where()} GROUP BY time({Interval}), {BySensor} fill(none)")));
        return KindDashboard.Finish(d, kind);
    }
}

internal static class StrainDashboard
{
    public static Dashboard Build()
    {
        const SensorKind kind = SensorKind.Strain;
        var strain = FieldCatalogue.Microstrain;
        var d = KindDashboard.Start(kind, "structural-strain", "Structural strain",
            "Lining strain of the vibrating-wire gauges: value, change over the time range and rate per hour.", "strain", "structural");
        d.Add(ReadingPanels.Series(kind, strain), 24);
        // InfluxDB does not hold the registry's per-gauge baseline, so the change is taken from the first reading in range.
        d.Add(Grafana.TimeSeries("Change since the start of the range", $"{strain.Name} minus its first value in the time range ({strain.Unit}). The alert rules subtract the baseline set per gauge in the sensor registry, which InfluxDB does not hold.",
            Units.Grafana(strain), null,
            Grafana.SensorTarget($"SELECT cumulative_sum({Id("step")}) FROM (SELECT difference(mean({Id(strain.Name)})) AS {Id("step")} FROM {Id(kind.Name())} {ReadingPanels.Where()} GROUP BY time({Interval}), {BySensor} fill(none)) GROUP BY {BySensor}")));
        var rate = Thresholds.Rules(kind, strain, RuleType.Rate);
        d.Add(Grafana.TimeSeries("Rate per hour", $"Change of {strain.Name} per hour between 15-minute means ({strain.Unit}/h); the rule judges it over {string.Join(", ", rate.Select(r => Duration(r.Window ?? TimeSpan.Zero)))}. " + Thresholds.Describe(rate, strain.Unit + "/h"),
            "suffix: µε/h", Thresholds.Steps(rate),
            Grafana.SensorTarget($"SELECT derivative(mean({Id(strain.Name)}), 1h) FROM {Id(kind.Name())} {ReadingPanels.Where()} GROUP BY time(15m), {BySensor} fill(none)")));
        foreach (var field in ReadingPanels.Measured(kind).Where(f => f != strain))
        {
            d.Add(ReadingPanels.Series(kind, field));
        }
        return KindDashboard.Finish(d, kind);
    }
}

internal static class AlertsDashboard
{
    public static Dashboard Build()
    {
        var d = new DashboardBuilder("tunnel-alerts", "Alerts", "Active alerts, silent sensors and the history of every alert event.", "alerts")
        {
            Variables = Grafana.SensorVariables(Id(Schema.Alerts)),
            Annotations = Grafana.AlertAnnotations(null),
        };
        d.Add(AlertPanels.Active(), 14, 9).Add(AlertPanels.Silent(), 10, 9);
        d.Add(AlertPanels.EventsByLevel(), 24, 6);
        d.Add(AlertPanels.History(), 24, 14);
        return d.Build();
    }
}

internal static class IngestionHealthDashboard
{
    private const string Instance = "instance";

    public static Dashboard Build()
    {
        var d = new DashboardBuilder("ingestion-health", "Ingestion health",
            "The ingestion service's own counters and gauges (ingest_stats, every 10 s): throughput, rejections, InfluxDB writes, spool and MQTT.", "ingestion")
        {
            Variables = new JsonArray(Grafana.Variable(Instance, "Instance", $"SHOW TAG VALUES FROM {Id(Schema.IngestStats)} WITH KEY = {Id(Schema.TagInstance)}")),
        };
        d.Add(Grafana.Stat("MQTT connection", $"{IngestStatsFields.MqttConnected}: 1 while the service is connected to the broker.", "none", Thresholds.Steps([]), ConnectedMappings(),
            Target("A", $"SELECT last({Id(IngestStatsFields.MqttConnected)}) FROM {Stats()} GROUP BY {Id(Schema.TagInstance)}", "$tag_instance")), 6, 5);
        d.Add(Gauge(IngestStatsFields.ActiveAlerts, "Active alerts", "short"), 6, 5);
        d.Add(Gauge(IngestStatsFields.SpoolReadings, "Readings in the spool", "short"), 6, 5);
        d.Add(Gauge(IngestStatsFields.SpoolOldestAgeS, "Oldest spooled reading", "s"), 6, 5);

        d.Add(Grafana.TimeSeries("Throughput", "Messages received and readings accepted and stored, per second.", "cps", null,
            Target("A", $"SELECT {PerSecond(IngestStatsFields.MessagesReceived)}, {PerSecond(IngestStatsFields.ReadingsAccepted)}, {PerSecond(IngestStatsFields.ReadingsStored)} FROM {Stats()} GROUP BY time({Interval}), {Id(Schema.TagInstance)} fill(none)", "$tag_instance $col")));
        d.Add(Grafana.TimeSeries("Rejections by reason", $"Rejected input per minute, one series per reason ({IngestStatsFields.RejectedPrefix}<reason> counters).", "cpm", null,
            Target("A", $"SELECT {string.Join(", ", RejectionReasons.All.Select(r => PerMinute(IngestStatsFields.RejectedPrefix + r.Name(), r.Name())))} FROM {Stats()} GROUP BY time({Interval}), {Id(Schema.TagInstance)} fill(none)", "$col")));

        d.Add(Grafana.TimeSeries("InfluxDB write latency", $"{IngestStatsFields.WriteLatencyMs}: mean and worst per interval.", "ms", null,
            Target("A", $"SELECT mean({Id(IngestStatsFields.WriteLatencyMs)}) AS {Id("mean")}, max({Id(IngestStatsFields.WriteLatencyMs)}) AS {Id("max")} FROM {Stats()} GROUP BY time({Interval}), {Id(Schema.TagInstance)} fill(none)", "$tag_instance $col")));
        d.Add(Grafana.TimeSeries("Write failures and retries", "Failed InfluxDB writes per minute by class, and retries.", "cpm", null,
            Target("A", $"SELECT {string.Join(", ", IngestStatsFields.WriteFailureClasses.Select(c => PerMinute(IngestStatsFields.WriteFailuresPrefix + c, c)).Append(PerMinute(IngestStatsFields.WriteRetries, "retries")))} FROM {Stats()} GROUP BY time({Interval}), {Id(Schema.TagInstance)} fill(none)", "$col")));

        d.Add(Grafana.TimeSeries("Spool depth", $"Readings waiting in the local durable spool ({IngestStatsFields.SpoolReadings}); they are forwarded in order once InfluxDB is back.", "short", null,
            Target("A", $"SELECT max({Id(IngestStatsFields.SpoolReadings)}) AS {Id("readings")} FROM {Stats()} GROUP BY time({Interval}), {Id(Schema.TagInstance)} fill(none)", "$tag_instance $col")));
        d.Add(Grafana.TimeSeries("Spool size", $"{IngestStatsFields.SpoolBytes} on disk; at the configured cap the service stops acknowledging and the broker holds the rest.", "bytes", null,
            Target("A", $"SELECT max({Id(IngestStatsFields.SpoolBytes)}) AS {Id("bytes")} FROM {Stats()} GROUP BY time({Interval}), {Id(Schema.TagInstance)} fill(none)", "$tag_instance $col")));

        d.Add(Grafana.TimeSeries("MQTT connected", $"{IngestStatsFields.MqttConnected} over time: a drop to 0 is a lost broker connection.", "none", null,
            Target("A", $"SELECT min({Id(IngestStatsFields.MqttConnected)}) AS {Id("connected")} FROM {Stats()} GROUP BY time({Interval}), {Id(Schema.TagInstance)} fill(none)", "$tag_instance")));
        d.Add(Grafana.TimeSeries("Alert events", $"Alert events per minute ({IngestStatsFields.AlertEvents}) and active alerts ({IngestStatsFields.ActiveAlerts}).", "short", null,
            Target("A", $"SELECT {PerMinute(IngestStatsFields.AlertEvents, "events")}, max({Id(IngestStatsFields.ActiveAlerts)}) AS {Id("active")} FROM {Stats()} GROUP BY time({Interval}), {Id(Schema.TagInstance)} fill(none)", "$tag_instance $col")));

        var rejected = $"{Id(Schema.Rejected)} WHERE {Matches(Schema.TagInstance, Instance)} AND {TimeFilter}";
        d.Add(Grafana.Bars("Quarantined input by reason", $"Rows written to the {Schema.Rejected} measurement per interval, by reason.", "short",
            Target("A", $"SELECT count({Id(StorageNames.RejectedTopic)}) FROM {rejected} GROUP BY time({Interval}), {Id(Schema.TagReason)} fill(none)", "$tag_reason")), 24, 7);
        d.Add(Grafana.Table("Latest quarantined input", $"The newest rows of the {Schema.Rejected} measurement: reason, topic, offending field and the start of the payload.", [], [],
            Target("A", $"SELECT {string.Join(", ", new[] { Schema.TagReason, StorageNames.RejectedTopic, StorageNames.RejectedField, StorageNames.RejectedDetail, StorageNames.RejectedPayload }.Select(Id))} FROM {rejected} ORDER BY time DESC LIMIT 200", "table", format: "table")), 24, 10);
        return d.Build();
    }

    private static string Stats() => $"{Id(Schema.IngestStats)} WHERE {Matches(Schema.TagInstance, Instance)} AND {TimeFilter}";

    private static string PerSecond(string counter) => $"non_negative_derivative(max({Id(counter)}), 1s) AS {Id(counter)}";

    private static string PerMinute(string counter, string alias) => $"non_negative_derivative(max({Id(counter)}), 1m) AS {Id(alias)}";

    private static JsonObject Target(string refId, string query, string alias, string format = "time_series") =>
        Grafana.Target(refId, query, format, format == "table" ? null : alias);

    private static JsonObject Gauge(string field, string title, string unit) => Grafana.Stat(title, $"Latest {field}.", unit, null, null,
        Target("A", $"SELECT last({Id(field)}) FROM {Stats()} GROUP BY {Id(Schema.TagInstance)}", "$tag_instance"));

    private static JsonArray ConnectedMappings() => new(new JsonObject
    {
        ["type"] = "value",
        ["options"] = new JsonObject
        {
            ["0"] = new JsonObject { ["text"] = "disconnected", ["color"] = Thresholds.Red, ["index"] = 0 },
            ["1"] = new JsonObject { ["text"] = "connected", ["color"] = Thresholds.Green, ["index"] = 1 },
        },
    });
}
