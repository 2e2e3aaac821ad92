using System.Globalization;
using Telemetry.Contracts;

namespace Telemetry.Dashboards;

/// <summary>
/// Names of SPEC §6 that <see cref="Schema"/> does not carry yet (the alerts tags and the rejected fields).
/// They are the storage contract the ingestion service writes; the deployment tests seed and query them.
/// </summary>
internal static class StorageNames
{
    public const string TagKind = "kind";
    public const string TagRule = "rule";
    public const string TagLevel = "level";
    public const string TagState = "state";

    public const string AlertValue = "value";
    public const string AlertThreshold = "threshold";
    public const string AlertMessage = "message";
    public const string AlertId = "alert_id";

    public const string RejectedTopic = "topic";
    public const string RejectedField = "field";
    public const string RejectedPayload = "payload";
    public const string RejectedDetail = "detail";

    /// <summary>The <c>level</c> tag value of an alerts point (SPEC §6: amber, red, normal).</summary>
    public static string LevelName(this Contracts.Alerts.AlertLevel level) => level switch
    {
        Contracts.Alerts.AlertLevel.Normal => "normal",
        Contracts.Alerts.AlertLevel.Amber => "amber",
        Contracts.Alerts.AlertLevel.Red => "red",
        _ => throw new ArgumentOutOfRangeException(nameof(level)),
    };
}

/// <summary>InfluxQL fragments in the form Grafana's InfluxDB data source expects (raw query mode).</summary>
internal static class InfluxQl
{
    /// <summary>Grafana replaces these before the query reaches InfluxDB.</summary>
    public const string TimeFilter = "$timeFilter";
    public const string Interval = "$__interval";

    public static string Id(string name) => "\"" + name.Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    public static string Str(string value) => "'" + value.Replace("'", "\\'", StringComparison.Ordinal) + "'";

    /// <summary>A multi-value variable renders as a regex alternation, so it is matched with <c>=~ /^$var$/</c>.</summary>
    public static string Matches(string tag, string variable) => $"{Id(tag)} =~ /^${variable}$/";

    /// <summary>site, tunnel and sensor each restricted by the dashboard variable of the same name.</summary>
    public static string SensorFilter { get; } = string.Join(" AND ",
        Matches(Schema.TagSite, Schema.TagSite), Matches(Schema.TagTunnel, Schema.TagTunnel), Matches(Schema.TagSensor, Schema.TagSensor));

    public static string BySensor { get; } = $"{Id(Schema.TagSite)}, {Id(Schema.TagTunnel)}, {Id(Schema.TagSensor)}";

    /// <summary>An InfluxQL duration literal: 15m, 8h, 90s.</summary>
    public static string Duration(TimeSpan span)
    {
        if (span <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(span), span, "durations must be positive");
        }
        return span switch
        {
            { TotalDays: var d } when d == Math.Floor(d) => Int(d) + "d",
            { TotalHours: var h } when h == Math.Floor(h) => Int(h) + "h",
            { TotalMinutes: var m } when m == Math.Floor(m) => Int(m) + "m",
            { TotalSeconds: var s } when s == Math.Floor(s) => Int(s) + "s",
            _ => Int(span.TotalMilliseconds) + "ms",
        };
    }

    private static string Int(double value) => ((long)value).ToString(CultureInfo.InvariantCulture);
}
