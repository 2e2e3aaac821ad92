using System.Text.Json.Nodes;
using Telemetry.Dashboards;
using Telemetry.Testing;

namespace Telemetry.Deployment.Tests.Dashboards;

/// <summary>
/// Every panel, variable and annotation query of every committed dashboard runs against a real InfluxDB 1.x filled with
/// data and returns at least one series: a panel that would stay empty in the tunnel fails here instead.
/// </summary>
public sealed class DashboardQueryTests
{
    /// <summary>
    /// The data the queries run on: the simulator through the real service, seeded once into one database that every
    /// dashboard's queries only read.
    /// </summary>
    private static readonly Lazy<Task<string>> Seeded = new(async () =>
    {
        var data = new SimulatedTunnelSource();
        var server = await InfluxServer.SharedAsync();
        var db = InfluxServer.NewDatabaseName("dash");
        await server.CreateDatabaseAsync(db);
        await data.SeedAsync(server, db);
        return db;
    });

    public static TheoryData<string> DashboardFiles() => [.. DashboardCatalogue.All().Select(d => d.FileName)];

    [Theory]
    [MemberData(nameof(DashboardFiles))]
    public async Task EveryQuery_ReturnsData(string file)
    {
        var dashboard = JsonNode.Parse(Repo.Read("grafana", "dashboards", file))!.AsObject();
        var server = await InfluxServer.SharedAsync();
        var db = await Seeded.Value;

        var failures = new List<string>();
        var variables = new Dictionary<string, IReadOnlyList<string>>();
        foreach (var (name, query) in GrafanaQueries.Variables(dashboard))
        {
            var values = await RunAsync(server, db, query, variables, failures, tagValues: true);
            variables[name] = values;
        }
        var queries = GrafanaQueries.Panels(dashboard).Concat(GrafanaQueries.Annotations(dashboard)).ToList();
        Assert.NotEmpty(queries);
        foreach (var query in queries)
        {
            await RunAsync(server, db, query, variables, failures, tagValues: false);
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {queries.Count + variables.Count} queries of {file} failed:\n" + string.Join("\n", failures));
    }

    private static async Task<IReadOnlyList<string>> RunAsync(InfluxServer server, string db, DashboardQuery query,
        Dictionary<string, IReadOnlyList<string>> variables, List<string> failures, bool tagValues)
    {
        var text = GrafanaQueries.Expand(query.Query, variables);
        try
        {
            using var response = await server.QueryAsync(db, text);
            var series = GrafanaQueries.Series(response);
            if (series.Count == 0)
            {
                failures.Add($"{query}: no series from {text}");
                return [];
            }
            if (!tagValues)
            {
                return [];
            }
            var values = GrafanaQueries.TagValues(response);
            if (values.Count == 0)
            {
                failures.Add($"{query}: no values from {text}");
            }
            return values;
        }
        catch (InvalidOperationException ex)
        {
            failures.Add($"{query}: {ex.Message}");
            return [];
        }
    }
}

/// <summary>The active-alerts panels rely on InfluxQL returning the tags of the point that last() selects.</summary>
public sealed class ActiveAlertsQueryTests
{
    [Fact]
    public async Task ActiveAlerts_ShowTheLevelOfEachAlertsLatestEvent()
    {
        var server = await InfluxServer.SharedAsync();
        var db = InfluxServer.NewDatabaseName("active");
        await server.CreateDatabaseAsync(db);
        await new ContractsLineProtocolSource(TimeProvider.System).SeedAsync(server, db);

        var panel = AlertPanels.Active();
        var query = new[] { "site", "tunnel", "sensor" }.Aggregate((string)panel["targets"]![0]!["query"]!,
            (q, variable) => q.Replace("$" + variable, ".*", StringComparison.Ordinal));
        var rows = await server.RowsAsync(db, query);

        // Per kind, the seed leaves one alert cleared after its whole lifecycle, one raised, and one silent sensor.
        var levels = rows.GroupBy(r => r["level"].GetString()).ToDictionary(g => g.Key!, g => g.Count());
        Assert.Equal(3, levels["normal"]);
        Assert.Equal(6, levels["amber"]);
        Assert.False(levels.ContainsKey("red"), "an escalated alert that was later cleared must not show as red");
    }
}
