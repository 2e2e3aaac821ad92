using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Telemetry.Deployment.Tests.Dashboards;

/// <summary>One InfluxQL query of a dashboard, as Grafana would send it before expansion.</summary>
internal sealed record DashboardQuery(string Dashboard, string Where, string Query)
{
    public override string ToString() => $"{Dashboard} / {Where}";
}

/// <summary>Reads the queries out of dashboard JSON and expands Grafana's macros and variables the way Grafana does.</summary>
internal static partial class GrafanaQueries
{
    /// <summary>The time range the tests query: it covers the seeded hour.</summary>
    public const string TimeFilter = "time > now() - 6h";

    public const string Interval = "10s";

    public static IEnumerable<DashboardQuery> Panels(JsonObject dashboard)
    {
        var uid = (string)dashboard["uid"]!;
        foreach (var panel in dashboard["panels"]!.AsArray().Select(p => p!.AsObject()))
        {
            foreach (var target in panel["targets"]!.AsArray().Select(t => t!.AsObject()))
            {
                yield return new DashboardQuery(uid, $"panel '{panel["title"]}' target {target["refId"]}", (string)target["query"]!);
            }
        }
    }

    public static IEnumerable<DashboardQuery> Annotations(JsonObject dashboard) =>
        dashboard["annotations"]!["list"]!.AsArray().Select(a => new DashboardQuery((string)dashboard["uid"]!, $"annotation '{a!["name"]}'", (string)a["query"]!));

    public static IEnumerable<(string Name, DashboardQuery Query)> Variables(JsonObject dashboard) =>
        dashboard["templating"]!["list"]!.AsArray().Select(v => ((string)v!["name"]!, new DashboardQuery((string)dashboard["uid"]!, $"variable '{v["name"]}'", (string)v["query"]!)));

    /// <summary>
    /// Replaces the macros and variables in a query: <c>$timeFilter</c>, <c>$__interval</c>, <c>$__interval_ms</c>
    /// and <c>$name</c>/<c>${name}</c> of each variable by its values as a regex alternation, which is how Grafana
    /// renders a multi-value or All variable for InfluxDB.
    /// </summary>
    public static string Expand(string query, IReadOnlyDictionary<string, IReadOnlyList<string>> variables)
    {
        var expanded = query
            .Replace("$timeFilter", TimeFilter, StringComparison.Ordinal)
            .Replace("$__interval_ms", "10000", StringComparison.Ordinal)
            .Replace("$__interval", Interval, StringComparison.Ordinal);
        expanded = VariableReference().Replace(expanded, m =>
        {
            var name = m.Groups["braced"].Success ? m.Groups["braced"].Value : m.Groups["plain"].Value;
            if (name.StartsWith("tag_", StringComparison.Ordinal) || !variables.TryGetValue(name, out var values))
            {
                return m.Value;
            }
            return "(" + string.Join('|', values.Select(RegexEscape)) + ")";
        });
        var left = VariableReference().Match(expanded);
        Assert.False(left.Success, $"unexpanded '{left.Value}' in: {expanded}");
        return expanded;
    }

    /// <summary>The series of the first result; an InfluxDB error fails the test with the query in the message.</summary>
    public static List<JsonElement> Series(JsonDocument response)
    {
        var result = response.RootElement.GetProperty("results")[0];
        return result.TryGetProperty("series", out var series) ? [.. series.EnumerateArray()] : [];
    }

    /// <summary>Values of a SHOW TAG VALUES response (column <c>value</c>).</summary>
    public static List<string> TagValues(JsonDocument response) =>
        [.. Series(response).SelectMany(s => s.GetProperty("values").EnumerateArray().Select(v => v[1].GetString()!)).Distinct().Order(StringComparer.Ordinal)];

    // Grafana escapes regex metacharacters of each value before joining them.
    private static string RegexEscape(string value) => RegexMeta().Replace(value, @"\$0");

    [GeneratedRegex(@"\$\{(?<braced>[A-Za-z_][A-Za-z0-9_]*)\}|\$(?<plain>[A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex VariableReference();

    [GeneratedRegex(@"[\\^$*+?.()|\[\]{}/]")]
    private static partial Regex RegexMeta();
}
