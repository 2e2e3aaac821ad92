using System.Text.Json.Nodes;

namespace Telemetry.Dashboards;

/// <summary>Collects panels left to right in rows of Grafana's 24-column grid and assembles the dashboard JSON.</summary>
internal sealed class DashboardBuilder(string uid, string title, string description, params string[] tags)
{
    private const int GridWidth = 24;
    private readonly JsonArray _panels = [];
    private int _x;
    private int _y;
    private int _rowHeight;

    public JsonArray Variables { get; init; } = [];

    public JsonArray Annotations { get; init; } = [];

    public DashboardBuilder Add(JsonObject panel, int width = 12, int height = 8)
    {
        if (_x + width > GridWidth)
        {
            NewRow();
        }
        panel.Insert(0, "id", _panels.Count + 1);
        panel.Insert(1, "gridPos", new JsonObject { ["h"] = height, ["w"] = width, ["x"] = _x, ["y"] = _y });
        _panels.Add(panel);
        _x += width;
        _rowHeight = Math.Max(_rowHeight, height);
        return this;
    }

    public DashboardBuilder NewRow()
    {
        if (_x > 0)
        {
            _y += _rowHeight;
            _x = 0;
            _rowHeight = 0;
        }
        return this;
    }

    public Dashboard Build() => new(uid, new JsonObject
    {
        ["uid"] = uid,
        ["title"] = title,
        ["description"] = description,
        ["tags"] = new JsonArray([.. tags.Prepend("tunnel-telemetry").Select(t => (JsonNode)t)]),
        ["editable"] = false,
        ["graphTooltip"] = 1,
        ["timezone"] = "browser",
        ["refresh"] = "30s",
        ["time"] = new JsonObject { ["from"] = "now-6h", ["to"] = "now" },
        ["schemaVersion"] = 39,
        ["version"] = 1,
        ["links"] = new JsonArray(new JsonObject
        {
            ["type"] = "dashboards",
            ["tags"] = new JsonArray("tunnel-telemetry"),
            ["asDropdown"] = true,
            ["title"] = "Tunnel telemetry",
            ["includeVars"] = true,
            ["keepTime"] = true,
        }),
        ["annotations"] = new JsonObject { ["list"] = Annotations },
        ["templating"] = new JsonObject { ["list"] = Variables },
        ["panels"] = _panels,
    });
}
