using System.Globalization;
using Telemetry.Contracts;

namespace Telemetry.Dashboards;

/// <summary>
/// The alerts and rejected names of SPEC §6, from <see cref="Schema"/> (the service writes with the same constants).
/// </summary>
internal static class StorageNames
{
    public const string TagKind = Schema.TagKind;
    public const string TagRule = Schema.TagRule;
    public const string TagLevel = Schema.TagLevel;
    public const string TagState = Schema.TagState;

    public const string AlertValue = Schema.AlertValue;
    public const string AlertThreshold = Schema.AlertThreshold;
    public const string AlertMessage = Schema.AlertMessage;
    public const string AlertId = Schema.AlertId;

    public const string RejectedTopic = Schema.RejectedTopic;
    public const string RejectedField = Schema.RejectedField;
    public const string RejectedPayload = Schema.RejectedPayload;
    public const string RejectedDetail = Schema.RejectedDetail;

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
