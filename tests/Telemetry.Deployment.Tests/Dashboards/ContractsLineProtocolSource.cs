using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;
using Telemetry.Dashboards;
using Telemetry.Testing;

namespace Telemetry.Deployment.Tests.Dashboards;

/// <summary>
/// Stand-in until the ingestion service and the simulator are on this branch: line protocol built only from the
/// names in Telemetry.Contracts (field catalogue, schema, ingest_stats fields, rejection reasons, default rules),
/// posted to InfluxDB's /write with millisecond timestamps in the last hour.
/// </summary>
internal sealed class ContractsLineProtocolSource(TimeProvider clock) : IDashboardDataSource
{
    public static readonly IReadOnlyList<string> Sites = ["kukes", "gjirokaster"];
    public static readonly IReadOnlyList<string> Tunnels = ["t01", "t03"];
    public const int SensorsPerTunnel = 2;
    public const string Instance = "ingest-test-1";

    private static readonly TimeSpan Span = TimeSpan.FromHours(1);

    public async Task SeedAsync(InfluxServer server, string database)
    {
        var now = clock.GetUtcNow();
        var lines = new List<string>();
        lines.AddRange(Readings(now));
        lines.AddRange(AlertEvents(now));
        lines.AddRange(Rejections(now));
        lines.AddRange(IngestStats(now));

        using var http = new HttpClient { BaseAddress = new Uri(server.Url) };
        foreach (var batch in lines.Chunk(5000))
        {
            using var body = new StringContent(string.Join('\n', batch), Encoding.UTF8, "text/plain");
            using var response = await http.PostAsync(new Uri($"/write?db={Uri.EscapeDataString(database)}&precision=ms", UriKind.Relative), body);
            Assert.True((int)response.StatusCode == 204, $"/write answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
        await Poll.UntilAsync(async () => await server.CountAsync(database, Schema.IngestStats, IngestStatsFields.MessagesReceived) > 0,
            "the seeded data to be queryable");
    }

    private static IEnumerable<(string Site, string Tunnel, string Sensor)> Sensors(SensorKind kind) =>
        from site in Sites
        from tunnel in Tunnels
        from n in Enumerable.Range(1, SensorsPerTunnel)
        select (site, tunnel, $"{kind.Name()}-{tunnel}-{n:D2}");

    private static IEnumerable<string> Readings(DateTimeOffset now)
    {
        foreach (var kind in SensorKinds.All)
        {
            var s = 0;
            foreach (var (site, tunnel, sensor) in Sensors(kind))
            {
                s++;
                for (var minute = 0; minute <= (int)Span.TotalMinutes; minute++)
                {
                    var fields = new List<string>();
                    foreach (var field in FieldCatalogue.StoredFor(kind))
                    {
                        var value = field.Id == Field.DewPointC
                            ? DewPoint.Celsius(Value(FieldCatalogue.RhPct, s, minute), Value(FieldCatalogue.TempC, s, minute)) ?? 0
                            : Value(field, s, minute);
                        fields.Add($"{field.Name}={Number(value)}");
                    }
                    fields.Add($"{Schema.FieldSeq}={minute}i");
                    yield return $"{kind.Name()},{Tags((Schema.TagSite, site), (Schema.TagTunnel, tunnel), (Schema.TagSensor, sensor))} {string.Join(',', fields)} {Ms(now - Span + TimeSpan.FromMinutes(minute))}";
                }
            }
        }
    }

    /// <summary>A plausible value inside the field's range that moves a little from minute to minute.</summary>
    private static double Value(FieldSpec field, int sensor, int minute) =>
        Math.Round(field.Min + ((field.Max - field.Min) * (0.3 + (0.05 * Math.Sin((minute / 7.0) + sensor)))), 3);

    /// <summary>For each kind, one alert's whole lifecycle, one alert left active and one silent sensor.</summary>
    private static IEnumerable<string> AlertEvents(DateTimeOffset now)
    {
        var stale = DefaultRules.All.Single(r => r.Type == RuleType.Stale);
        foreach (var kind in SensorKinds.All)
        {
            var rule = DefaultRules.All.First(r => r.Kind == kind.Name() && r.Type == RuleType.Threshold);
            var sensors = Sensors(kind).ToList();
            var lifecycle = new (AlertState State, AlertLevel Level)[]
            {
                (AlertState.Raised, AlertLevel.Amber), (AlertState.Escalated, AlertLevel.Red), (AlertState.Acknowledged, AlertLevel.Red),
                (AlertState.Deescalated, AlertLevel.Amber), (AlertState.Cleared, AlertLevel.Normal),
            };
            for (var i = 0; i < lifecycle.Length; i++)
            {
                yield return Alert(kind, sensors[0], rule, lifecycle[i].State, lifecycle[i].Level, now - TimeSpan.FromMinutes(50 - (10 * i)));
            }
            yield return Alert(kind, sensors[1], rule, AlertState.Raised, AlertLevel.Amber, now - TimeSpan.FromMinutes(15));
            yield return Alert(kind, sensors[2], stale, AlertState.Raised, AlertLevel.Amber, now - TimeSpan.FromMinutes(5));
        }
    }

    private static string Alert(SensorKind kind, (string Site, string Tunnel, string Sensor) s, RuleDefinition rule, AlertState state, AlertLevel level, DateTimeOffset at)
    {
        var threshold = (level == AlertLevel.Red ? rule.Red : rule.Amber) ?? 0;
        var stateName = JsonSerializer.Serialize(state).Trim('"');
        var tags = Tags((StorageNames.TagKind, kind.Name()), (StorageNames.TagLevel, level.LevelName()), (StorageNames.TagRule, rule.Id),
            (Schema.TagSensor, s.Sensor), (Schema.TagSite, s.Site), (StorageNames.TagState, stateName), (Schema.TagTunnel, s.Tunnel));
        return $"{Schema.Alerts},{tags} {StorageNames.AlertValue}={Number(threshold * 1.1)},{StorageNames.AlertThreshold}={Number(threshold)},"
            + $"{StorageNames.AlertMessage}=\"{rule.Id} {stateName} at {level.LevelName()}\",{StorageNames.AlertId}=\"{s.Site}/{s.Tunnel}/{s.Sensor}/{rule.Id}\" {Ms(at)}";
    }

    private static IEnumerable<string> Rejections(DateTimeOffset now)
    {
        var i = 0;
        foreach (var reason in RejectionReasons.All)
        {
            i++;
            yield return $"{Schema.Rejected},{Tags((Schema.TagInstance, Instance), (Schema.TagReason, reason.Name()))} "
                + $"{StorageNames.RejectedTopic}=\"tunnels/kukes/t01/gas/gas-t01-01\",{StorageNames.RejectedField}=\"co_ppm\","
                + $"{StorageNames.RejectedPayload}=\"{{\\\"values\\\":{{}}}}\",{StorageNames.RejectedDetail}=\"seeded {reason.Name()}\" {Ms(now - TimeSpan.FromMinutes(i))}";
        }
    }

    /// <summary>Every ingest_stats field, every 10 s: counters grow, gauges hold a value.</summary>
    private static IEnumerable<string> IngestStats(DateTimeOffset now)
    {
        var names = typeof(IngestStatsFields).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string) && !f.Name.EndsWith("Prefix", StringComparison.Ordinal))
            .Select(f => (string)f.GetRawConstantValue()!)
            .Concat(RejectionReasons.All.Select(r => IngestStatsFields.RejectedPrefix + r.Name()))
            .Concat(IngestStatsFields.WriteFailureClasses.Select(c => IngestStatsFields.WriteFailuresPrefix + c))
            .ToList();
        var ticks = (int)(Span / TimeSpan.FromSeconds(10));
        for (var t = 0; t <= ticks; t++)
        {
            var fields = names.Select(n => n == IngestStatsFields.MqttConnected ? $"{n}=1" : $"{n}={Number(t * 7.0)}");
            yield return $"{Schema.IngestStats},{Tags((Schema.TagInstance, Instance))} {string.Join(',', fields)} {Ms(now - Span + TimeSpan.FromSeconds(10 * t))}";
        }
    }

    /// <summary>Tags in line protocol; the values here never need escaping (topic segments, SPEC §2).</summary>
    private static string Tags(params (string Key, string Value)[] tags) => string.Join(',', tags.Select(t => $"{t.Key}={t.Value}"));

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Ms(DateTimeOffset at) => at.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
}
