using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Telemetry.Contracts.Alerts;
using Telemetry.Dashboards;

namespace Telemetry.Deployment.Tests.Dashboards;

public sealed partial class DashboardFileTests
{
    private static readonly string Directory = Repo.PathOf("grafana", "dashboards");

    private static List<(string File, JsonObject Model)> Committed() =>
        [.. System.IO.Directory.GetFiles(Directory, "*.json").Order(StringComparer.Ordinal)
            .Select(f => (Path.GetFileName(f), JsonNode.Parse(File.ReadAllText(f))!.AsObject()))];

    [Fact]
    public void CommittedDashboards_EqualWhatTheGeneratorProducesNow()
    {
        var generated = DashboardCatalogue.All();
        Assert.Equal(generated.Select(d => d.FileName).Order(StringComparer.Ordinal), Committed().Select(c => c.File));
        foreach (var dashboard in generated)
        {
            var committed = File.ReadAllText(Path.Combine(Directory, dashboard.FileName));
            Assert.True(committed == dashboard.ToJson(),
                $"{dashboard.FileName} is stale: run 'dotnet run --project tools/Telemetry.Dashboards -- grafana/dashboards' and commit the result");
        }
    }

    [Fact]
    public void SixDashboards_WithUniqueFixedUids()
    {
        var uids = Committed().Select(c => (string?)c.Model["uid"]).ToList();
        Assert.Equal(6, uids.Count);
        Assert.All(uids, u => Assert.Matches("^[a-z0-9-]{8,40}$", u));
        Assert.Equal(uids.Count, uids.Distinct().Count());
        Assert.All(Committed(), c => Assert.Equal(c.File, c.Model["uid"] + ".json"));
    }

    [Fact]
    public void EveryPanelVariableAndAnnotation_UsesTheProvisionedDataSource()
    {
        var uid = ProvisionedDatasourceUid();
        foreach (var (file, model) in Committed())
        {
            var users = model["panels"]!.AsArray().Select(p => (Where: $"panel '{p!["title"]}'", Node: p!))
                .Concat(model["panels"]!.AsArray().SelectMany(p => p!["targets"]!.AsArray()).Select(t => (Where: $"target {t!["refId"]} of a panel", Node: t!)))
                .Concat(model["templating"]!["list"]!.AsArray().Select(v => (Where: $"variable {v!["name"]}", Node: v!)))
                .Concat(model["annotations"]!["list"]!.AsArray().Select(a => (Where: $"annotation {a!["name"]}", Node: a!)));
            foreach (var (where, node) in users)
            {
                Assert.True((string?)node["datasource"]?["uid"] == uid && (string?)node["datasource"]?["type"] == "influxdb",
                    $"{file}: {where} does not use data source {uid}");
            }
            Assert.NotEmpty(model["panels"]!.AsArray());
        }
    }

    [Fact]
    public void Panels_FitTheGrid_WithoutOverlapping()
    {
        foreach (var (file, model) in Committed())
        {
            var boxes = model["panels"]!.AsArray().Select(p => (Title: (string?)p!["title"], Pos: p["gridPos"]!))
                .Select(p => (p.Title, X: (int)p.Pos["x"]!, Y: (int)p.Pos["y"]!, W: (int)p.Pos["w"]!, H: (int)p.Pos["h"]!)).ToList();
            Assert.All(boxes, b => Assert.True(b.X >= 0 && b.W > 0 && b.H > 0 && b.X + b.W <= 24, $"{file}: '{b.Title}' is outside the 24-column grid"));
            for (var i = 0; i < boxes.Count; i++)
            {
                foreach (var (a, b) in boxes.Skip(i + 1).Select(b => (boxes[i], b)))
                {
                    var overlap = a.X < b.X + b.W && b.X < a.X + a.W && a.Y < b.Y + b.H && b.Y < a.Y + a.H;
                    Assert.False(overlap, $"{file}: '{a.Title}' overlaps '{b.Title}'");
                }
            }
        }
    }

    [Fact]
    public void DashboardsWithSensors_HaveChainedMultiValueVariables()
    {
        foreach (var (file, model) in Committed().Where(c => (string?)c.Model["uid"] != "ingestion-health"))
        {
            var vars = model["templating"]!["list"]!.AsArray().Select(v => v!.AsObject()).ToList();
            Assert.Equal(["site", "tunnel", "sensor"], vars.Select(v => (string?)v["name"]));
            Assert.All(vars, v => Assert.True((bool)v["multi"]! && (bool)v["includeAll"]!, $"{file}: {v["name"]} must be multi-value with All"));
            Assert.All(vars, v => Assert.StartsWith("SHOW TAG VALUES", (string?)v["query"], StringComparison.Ordinal));
            Assert.Contains("=~ /^$site$/", (string?)vars[1]["query"], StringComparison.Ordinal);
            Assert.Contains("=~ /^$tunnel$/", (string?)vars[2]["query"], StringComparison.Ordinal);
        }
    }

    [Fact]
    public void VariablesInQueries_AreMatchedAsRegexes()
    {
        foreach (var (_, model) in Committed())
        {
            foreach (var q in GrafanaQueries.Panels(model).Concat(GrafanaQueries.Annotations(model)))
            {
                // "= '$site'" breaks as soon as two values or All are selected.
                Assert.DoesNotMatch(@"(?<![=!]~)\s+'?\$(site|tunnel|sensor|instance)\b", q.Query.Replace("/^$", "", StringComparison.Ordinal));
                Assert.Contains("$", q.Query, StringComparison.Ordinal);
            }
        }
    }

    /// <summary>
    /// Each panel that names rules in its description is coloured exactly by those rules' default levels: a value just
    /// past amber is amber, just past red is red, just inside is green — upwards for above, downwards for below and
    /// both ways for absolute-value rules. Every default rule with levels colours at least one panel.
    /// </summary>
    [Fact]
    public void ThresholdColours_EqualTheDefaultRuleLevels()
    {
        var coloured = new HashSet<string>();
        foreach (var (file, model) in Committed())
        {
            foreach (var panel in model["panels"]!.AsArray().Select(p => p!.AsObject()))
            {
                foreach (Match m in RulesSentence().Matches((string?)panel["description"] ?? ""))
                {
                    foreach (var id in m.Groups["ids"].Value.Split(", "))
                    {
                        var rule = DefaultRules.All.Single(r => r.Id == id);
                        var steps = StepsFor(panel, rule.Field);
                        AssertColours(rule, steps, $"{file} panel '{panel["title"]}'");
                        coloured.Add(id);
                    }
                }
            }
        }
        var withLevels = DefaultRules.All.Where(r => r.Type != RuleType.Stale && (r.Amber is not null || r.Red is not null)).Select(r => r.Id);
        Assert.Empty(withLevels.Except(coloured));
    }

    [Fact]
    public void Generator_ColoursBelowRulesDownwards()
    {
        var o2 = DefaultRules.All.Where(r => r.Id is "o2-low" or "o2-high").ToList();
        var steps = Thresholds.Steps(o2)["steps"]!.AsArray()
            .Select(s => ((string?)s!["color"], s["value"] is null ? (double?)null : (double)s["value"]!)).ToList();
        Assert.Equal([(Thresholds.Red, null), (Thresholds.Amber, 19.0), (Thresholds.Green, 19.5), (Thresholds.Amber, 23.0), (Thresholds.Red, 23.5)], steps);
    }

    [Fact]
    public void ProvisionedDataSource_IsInfluxQlOnTheDefaultDatabase_WithTheTokenFromTheEnvironment()
    {
        var ds = Yaml.Load(Repo.PathOf("grafana", "provisioning", "datasources", "influxdb.yaml"));
        var source = Assert.Single(Yaml.Seq(ds, "datasources"));
        Assert.Equal("influxdb", Yaml.Str(source, "type"));
        Assert.Equal(Grafana.DatasourceUid, Yaml.Str(source, "uid"));
        var json = Yaml.Map(source, "jsonData");
        Assert.Equal("InfluxQL", Yaml.Str(json, "version"));
        Assert.Equal(Contracts.Schema.DefaultDatabase, Yaml.Str(json, "dbName"));
        Assert.Equal("POST", Yaml.Str(json, "httpMode"));
        Assert.Equal("Authorization", Yaml.Str(json, "httpHeaderName1"));
        Assert.Equal("Token ${INFLUX_TOKEN}", Yaml.Str(Yaml.Map(source, "secureJsonData"), "httpHeaderValue1"));
    }

    [Fact]
    public void DashboardProvider_ReadsTheMountedFolder_ReadOnly()
    {
        var provider = Assert.Single(Yaml.Seq(Yaml.Load(Repo.PathOf("grafana", "provisioning", "dashboards", "tunnel-telemetry.yaml")), "providers"));
        Assert.Equal("file", Yaml.Str(provider, "type"));
        Assert.Equal("false", Yaml.Str(provider, "allowUiUpdates"));
        var path = Yaml.Str(Yaml.Map(provider, "options"), "path");
        var grafana = Yaml.Map(Yaml.Map(Yaml.Load(Repo.PathOf("docker-compose.yml")), "services"), "grafana");
        Assert.Contains($"./grafana/dashboards:{path}:ro", Yaml.Seq(grafana, "volumes").Select(v => v.ToString()));
    }

    private static string ProvisionedDatasourceUid() =>
        Yaml.Str(Yaml.Seq(Yaml.Load(Repo.PathOf("grafana", "provisioning", "datasources", "influxdb.yaml")), "datasources")[0], "uid")!;

    /// <summary>A table colours per column (override by field name); other panels by their defaults.</summary>
    private static List<(string Colour, double From)> StepsFor(JsonObject panel, string field)
    {
        var fieldConfig = panel["fieldConfig"]!;
        var thresholds = fieldConfig["overrides"]!.AsArray()
            .Where(o => (string?)o!["matcher"]!["options"] == field)
            .SelectMany(o => o!["properties"]!.AsArray()).FirstOrDefault(p => (string?)p!["id"] == "thresholds")?["value"]
            ?? fieldConfig["defaults"]!["thresholds"]!;
        return [.. thresholds!["steps"]!.AsArray().Select(s => ((string)s!["color"]!, s["value"] is null ? double.NegativeInfinity : (double)s["value"]!))];
    }

    private static void AssertColours(RuleDefinition rule, List<(string Colour, double From)> steps, string where)
    {
        string At(double v) => steps.Last(s => s.From <= v).Colour;
        void Expect(double v, string colour, string what) =>
            Assert.True(At(v) == colour, $"{where}: {rule.Id} {what}: {v.ToString(CultureInfo.InvariantCulture)} is {At(v)}, expected {colour}");

        foreach (var sign in rule.Direction == RuleDirection.Abs ? new[] { 1.0, -1.0 } : [1.0])
        {
            var outward = rule.Direction == RuleDirection.Below ? -1.0 : sign;
            foreach (var (level, colour) in new[] { (rule.Amber, Thresholds.Amber), (rule.Red, Thresholds.Red) })
            {
                if (level is not { } l)
                {
                    continue;
                }
                var edge = sign * l;
                var eps = 1e-6 * Math.Max(1, Math.Abs(edge));
                Expect(edge + (outward * eps), colour, "just past the level");
            }
            var first = rule.Direction == RuleDirection.Below ? new[] { rule.Amber, rule.Red }.Max() : new[] { rule.Amber, rule.Red }.Min();
            var inner = sign * first!.Value;
            Expect(inner - (outward * 1e-6 * Math.Max(1, Math.Abs(inner))), Thresholds.Green, "just inside the first level");
        }
    }

    [GeneratedRegex(@"Thresholds from rules: (?<ids>[a-z0-9-]+(?:, [a-z0-9-]+)*)\.")]
    private static partial Regex RulesSentence();
}
