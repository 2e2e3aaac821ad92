using System.Text.Json.Nodes;
using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;

namespace Telemetry.Dashboards;

/// <summary>Builders for the parts of Grafana's classic dashboard JSON model that the dashboards use.</summary>
internal static class Grafana
{
    /// <summary>The uid of the provisioned data source (grafana/provisioning/datasources/influxdb.yaml).</summary>
    public const string DatasourceUid = "tunnel-influxdb";

    public static JsonObject Datasource() => new() { ["type"] = "influxdb", ["uid"] = DatasourceUid };

    public static JsonObject Target(string refId, string query, string format = "time_series", string? alias = null)
    {
        var target = new JsonObject
        {
            ["refId"] = refId,
            ["datasource"] = Datasource(),
            ["rawQuery"] = true,
            ["resultFormat"] = format,
            ["query"] = query,
        };
        if (alias is not null)
        {
            target["alias"] = alias;
        }
        return target;
    }

    /// <summary>One query per sensor series, named by tunnel and sensor.</summary>
    public static JsonObject SensorTarget(string query, string refId = "A") =>
        Target(refId, query, alias: "$tag_tunnel $tag_sensor");

    public static JsonObject TimeSeries(string title, string description, string unit, JsonObject? thresholds, params JsonObject[] targets) =>
        Panel("timeseries", title, description, targets, Defaults(unit, thresholds, new JsonObject
        {
            ["drawStyle"] = "line",
            ["lineWidth"] = 1,
            ["fillOpacity"] = 0,
            ["showPoints"] = "never",
            ["spanNulls"] = false,
            ["thresholdsStyle"] = new JsonObject { ["mode"] = thresholds is null ? "off" : "line+area" },
        }), new JsonObject
        {
            ["legend"] = new JsonObject { ["displayMode"] = "list", ["placement"] = "bottom", ["showLegend"] = true },
            ["tooltip"] = new JsonObject { ["mode"] = "multi", ["sort"] = "desc" },
        });

    public static JsonObject Bars(string title, string description, string unit, params JsonObject[] targets) =>
        Panel("timeseries", title, description, targets, Defaults(unit, null, new JsonObject
        {
            ["drawStyle"] = "bars",
            ["fillOpacity"] = 80,
            ["stacking"] = new JsonObject { ["mode"] = "normal", ["group"] = "A" },
            ["thresholdsStyle"] = new JsonObject { ["mode"] = "off" },
        }), new JsonObject
        {
            ["legend"] = new JsonObject { ["displayMode"] = "list", ["placement"] = "bottom", ["showLegend"] = true },
            ["tooltip"] = new JsonObject { ["mode"] = "multi", ["sort"] = "desc" },
        });

    /// <summary>One bar per series, coloured by the thresholds: the current value of a window average per sensor.</summary>
    public static JsonObject BarGauge(string title, string description, string unit, JsonObject thresholds, params JsonObject[] targets) =>
        Panel("bargauge", title, description, targets, Defaults(unit, thresholds, null), new JsonObject
        {
            ["orientation"] = "horizontal",
            ["displayMode"] = "basic",
            ["showUnfilled"] = true,
            ["reduceOptions"] = LastValue(),
        });

    public static JsonObject Stat(string title, string description, string unit, JsonObject? thresholds, JsonArray? mappings, params JsonObject[] targets)
    {
        var defaults = Defaults(unit, thresholds, null);
        if (mappings is not null)
        {
            defaults["mappings"] = mappings;
        }
        return Panel("stat", title, description, targets, defaults, new JsonObject
        {
            ["colorMode"] = "background",
            ["graphMode"] = "none",
            ["textMode"] = "value_and_name",
            ["reduceOptions"] = LastValue(),
        });
    }

    public static JsonObject Table(string title, string description, JsonArray overrides, JsonArray transformations, params JsonObject[] targets)
    {
        var panel = Panel("table", title, description, targets, new JsonObject
        {
            ["custom"] = new JsonObject { ["align"] = "auto", ["cellOptions"] = new JsonObject { ["type"] = "auto" } },
            ["thresholds"] = Thresholds.Steps([]),
        }, new JsonObject { ["showHeader"] = true, ["cellHeight"] = "sm" });
        ((JsonObject)panel["fieldConfig"]!)["overrides"] = overrides;
        panel["transformations"] = transformations;
        return panel;
    }

    /// <summary>A table column with a unit, coloured cell by cell by the thresholds.</summary>
    public static JsonObject ColumnOverride(string column, string unit, JsonObject thresholds) => Override(column,
        Property("unit", unit),
        Property("thresholds", thresholds),
        Property("custom.cellOptions", new JsonObject { ["type"] = "color-background" }));

    /// <summary>The <c>level</c> column of alert tables, coloured amber / red / green.</summary>
    public static JsonObject LevelColumn() => Override(StorageNames.TagLevel,
        Property("mappings", new JsonArray(new JsonObject
        {
            ["type"] = "value",
            ["options"] = new JsonObject
            {
                [AlertLevel.Normal.LevelName()] = new JsonObject { ["color"] = Thresholds.Green, ["index"] = 0 },
                [AlertLevel.Amber.LevelName()] = new JsonObject { ["color"] = Thresholds.Amber, ["index"] = 1 },
                [AlertLevel.Red.LevelName()] = new JsonObject { ["color"] = Thresholds.Red, ["index"] = 2 },
            },
        })),
        Property("custom.cellOptions", new JsonObject { ["type"] = "color-background" }));

    public static JsonObject Override(string column, params JsonObject[] properties) => new()
    {
        ["matcher"] = new JsonObject { ["id"] = "byName", ["options"] = column },
        ["properties"] = new JsonArray([.. properties]),
    };

    public static JsonObject Property(string id, JsonNode value) => new() { ["id"] = id, ["value"] = value };

    /// <summary>Keeps the rows whose column does not equal the value (e.g. alerts whose last event cleared them).</summary>
    public static JsonObject ExcludeRows(string column, string value) => new()
    {
        ["id"] = "filterByValue",
        ["options"] = new JsonObject
        {
            ["type"] = "exclude",
            ["match"] = "any",
            ["filters"] = new JsonArray(new JsonObject
            {
                ["fieldName"] = column,
                ["config"] = new JsonObject { ["id"] = "equal", ["options"] = new JsonObject { ["value"] = value } },
            }),
        },
    };

    public static JsonObject HideColumns(params string[] columns)
    {
        var exclude = new JsonObject();
        foreach (var c in columns)
        {
            exclude[c] = true;
        }
        return new JsonObject { ["id"] = "organize", ["options"] = new JsonObject { ["excludeByName"] = exclude } };
    }

    public static JsonObject Merge() => new() { ["id"] = "merge", ["options"] = new JsonObject() };

    /// <summary>Chained multi-value variables site → tunnel → sensor over the measurements in <paramref name="from"/>.</summary>
    public static JsonArray SensorVariables(string from) => new(
        Variable(Schema.TagSite, "Site", $"SHOW TAG VALUES FROM {from} WITH KEY = {InfluxQl.Id(Schema.TagSite)}"),
        Variable(Schema.TagTunnel, "Tunnel", $"SHOW TAG VALUES FROM {from} WITH KEY = {InfluxQl.Id(Schema.TagTunnel)} WHERE {InfluxQl.Matches(Schema.TagSite, Schema.TagSite)}"),
        Variable(Schema.TagSensor, "Sensor", $"SHOW TAG VALUES FROM {from} WITH KEY = {InfluxQl.Id(Schema.TagSensor)} WHERE {InfluxQl.Matches(Schema.TagSite, Schema.TagSite)} AND {InfluxQl.Matches(Schema.TagTunnel, Schema.TagTunnel)}"));

    public static JsonObject Variable(string name, string label, string query) => new()
    {
        ["name"] = name,
        ["label"] = label,
        ["type"] = "query",
        ["datasource"] = Datasource(),
        ["query"] = query,
        ["definition"] = query,
        ["refresh"] = 1,
        ["multi"] = true,
        ["includeAll"] = true,
        ["current"] = new JsonObject { ["selected"] = true, ["text"] = new JsonArray("All"), ["value"] = new JsonArray("$__all") },
        ["options"] = new JsonArray(),
        ["sort"] = 1,
        ["hide"] = 0,
        ["regex"] = "",
        ["skipUrlSync"] = false,
    };

    /// <summary>
    /// Alert events of the <c>alerts</c> measurement as annotations, one layer per level (red, amber, cleared),
    /// restricted to the dashboard's sensors and, on a kind's dashboard, to that kind.
    /// </summary>
    public static JsonArray AlertAnnotations(SensorKind? kind)
    {
        var list = new JsonArray();
        foreach (var (level, name) in new[] { (AlertLevel.Red, "Red alerts"), (AlertLevel.Amber, "Amber alerts"), (AlertLevel.Normal, "Cleared alerts") })
        {
            var where = $"{InfluxQl.Id(StorageNames.TagLevel)} = {InfluxQl.Str(level.LevelName())} AND {InfluxQl.SensorFilter}"
                + (kind is { } k ? $" AND {InfluxQl.Id(StorageNames.TagKind)} = {InfluxQl.Str(k.Name())}" : "");
            list.Add(new JsonObject
            {
                ["name"] = name,
                ["datasource"] = Datasource(),
                ["enable"] = level != AlertLevel.Normal,
                ["hide"] = false,
                ["iconColor"] = Thresholds.Colour(level),
                ["query"] = $"SELECT {InfluxQl.Id(StorageNames.AlertMessage)}, {InfluxQl.Id(StorageNames.TagRule)}, {InfluxQl.Id(StorageNames.TagState)}, {InfluxQl.Id(Schema.TagSensor)} "
                    + $"FROM {InfluxQl.Id(Schema.Alerts)} WHERE {where} AND {InfluxQl.TimeFilter}",
                ["textColumn"] = StorageNames.AlertMessage,
                ["tagsColumn"] = $"{StorageNames.TagRule},{StorageNames.TagState},{Schema.TagSensor}",
            });
        }
        return list;
    }

    private static JsonObject Panel(string type, string title, string description, JsonObject[] targets, JsonObject defaults, JsonObject options) => new()
    {
        ["type"] = type,
        ["title"] = title,
        ["description"] = description,
        ["datasource"] = Datasource(),
        ["targets"] = new JsonArray([.. targets]),
        ["fieldConfig"] = new JsonObject { ["defaults"] = defaults, ["overrides"] = new JsonArray() },
        ["options"] = options,
    };

    /// <summary>Lines keep one colour per sensor (thresholds show as areas); single values take the threshold colour.</summary>
    private static JsonObject Defaults(string unit, JsonObject? thresholds, JsonObject? custom)
    {
        var defaults = new JsonObject
        {
            ["unit"] = unit,
            ["color"] = new JsonObject { ["mode"] = custom is null && thresholds is not null ? "thresholds" : "palette-classic" },
            ["thresholds"] = thresholds ?? Thresholds.Steps([]),
        };
        if (custom is not null)
        {
            defaults["custom"] = custom;
        }
        return defaults;
    }

    private static JsonObject LastValue() => new() { ["calcs"] = new JsonArray("lastNotNull"), ["fields"] = "", ["values"] = false };
}
