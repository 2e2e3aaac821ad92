using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Telemetry.Dashboards;

/// <summary>One generated dashboard: its fixed uid (also its file name) and its JSON model.</summary>
internal sealed record Dashboard(string Uid, JsonObject Model)
{
    private static readonly JsonSerializerOptions Format = new()
    {
        WriteIndented = true,
        IndentSize = 2,
        NewLine = "\n",
        // Units and titles keep their µ, ° and subscripts readable in the committed files.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public string FileName => Uid + ".json";

    /// <summary>The exact text committed under grafana/dashboards/.</summary>
    public string ToJson() => Model.ToJsonString(Format) + "\n";
}

/// <summary>The six dashboards of SPEC §12, generated from the contracts so that names and thresholds are never typed twice.</summary>
internal static class DashboardCatalogue
{
    public static IReadOnlyList<Dashboard> All() =>
    [
        OverviewDashboard.Build(),
        GasDashboard.Build(),
        HumidityDashboard.Build(),
        StrainDashboard.Build(),
        AlertsDashboard.Build(),
        IngestionHealthDashboard.Build(),
    ];

    /// <summary>Writes every dashboard into <paramref name="directory"/> and returns the paths written.</summary>
    public static IReadOnlyList<string> WriteAll(string directory)
    {
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        foreach (var dashboard in All())
        {
            var path = Path.Combine(directory, dashboard.FileName);
            File.WriteAllText(path, dashboard.ToJson());
            written.Add(path);
        }
        return written;
    }
}
