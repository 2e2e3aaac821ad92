using System.Globalization;
using Telemetry.Contracts;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Telemetry.Simulator.Scenarios;

/// <summary>
/// Reads scenario YAML (format: docs/simulator.md). Every problem is reported with file, line and reason in one
/// <see cref="ScenarioException"/>; a scenario that loads is complete and consistent.
/// </summary>
internal static class ScenarioLoader
{
    private static readonly Dictionary<SensorKind, TimeSpan> DefaultIntervals = new()
    {
        [SensorKind.Humidity] = TimeSpan.FromMinutes(1),
        [SensorKind.Gas] = TimeSpan.FromSeconds(10),
        [SensorKind.Strain] = TimeSpan.FromMinutes(5),
    };

    public static Scenario Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ScenarioException([new ScenarioError(path, 0, 0, $"cannot read the file: {ex.Message}")]);
        }
        return Parse(text, path);
    }

    /// <param name="source">Names the text in error messages (normally its path).</param>
    public static Scenario Parse(string yaml, string source)
    {
        var errors = new YamlErrors(source);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            // YamlDotNet's messages start with its own "(Line: …)" prefix; the location is ours to print.
            var reason = ex.InnerException?.Message ?? ex.Message;
            var cut = reason.IndexOf("): ", StringComparison.Ordinal);
            errors.Add(ex.Start, "YAML syntax: " + (reason.StartsWith("(Line", StringComparison.Ordinal) && cut > 0 ? reason[(cut + 3)..] : reason));
            errors.ThrowIfAny();
        }
        if (stream.Documents.Count != 1)
        {
            errors.Add(new Mark(), "a scenario file holds exactly one YAML document");
            errors.ThrowIfAny();
        }
        var scenario = Read(YamlMap.Of(errors, stream.Documents[0].RootNode, "the scenario"), source);
        errors.ThrowIfAny();
        return scenario;
    }

    private static Scenario Read(YamlMap root, string source)
    {
        var errors = root.Errors;
        var name = root.String("name") ?? Path.GetFileNameWithoutExtension(source);
        root.String("description");
        var topicRoot = root.Segment("topic_root", required: false) ?? Scenario.DefaultTopicRoot;
        var start = Scenario.DefaultStart;
        if (root.String("start") is { } s)
        {
            if (DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            {
                start = parsed.ToUniversalTime();
            }
            else
            {
                errors.Add(root.Raw("start")!, $"'start' must be an RFC 3339 time like 2026-11-28T06:00:00Z, not '{s}'");
            }
        }

        var outside = OutsideClimate.Default;
        if (root.Map("outside", "outside") is { } o)
        {
            outside = new OutsideClimate(
                o.Number("temp_c", outside.TempC, -40, 50),
                o.Number("temp_amplitude_c", outside.TempAmplitudeC, 0, 30),
                o.Number("rh_pct", outside.RhPct, 0, 100),
                o.Number("rh_amplitude_pct", outside.RhAmplitudePct, 0, 50),
                o.Number("utc_offset_h", outside.UtcOffsetHours, -12, 14));
            o.RejectUnknownKeys("outside");
        }

        var intervals = new Dictionary<SensorKind, TimeSpan>(DefaultIntervals);
        if (root.Map("intervals", "intervals") is { } iv)
        {
            foreach (var kind in SensorKinds.All)
            {
                intervals[kind] = iv.Duration(kind.Name(), intervals[kind], allowZero: false);
            }
            iv.RejectUnknownKeys("intervals");
        }

        var tunnels = new List<TunnelSpec>();
        var sensors = new List<SensorSpec>();
        foreach (var site in root.Maps("sites", "a site", required: true))
        {
            ReadSite(site, intervals, tunnels, sensors);
        }
        if (sensors.Count == 0 && errors.All.Count == 0)
        {
            errors.Add(root.Node, "the scenario has no sensors");
        }

        var incidents = new List<Incident>();
        var resolver = new SensorResolver(sensors, tunnels, errors);
        foreach (var item in root.Maps("incidents", "an incident"))
        {
            if (IncidentReader.Read(item, resolver) is { } incident)
            {
                incidents.Add(incident);
            }
        }
        root.RejectUnknownKeys("the scenario");
        return new Scenario(name, source, topicRoot, start, outside, tunnels, sensors, incidents);
    }

    private static void ReadSite(YamlMap site, Dictionary<SensorKind, TimeSpan> intervals, List<TunnelSpec> tunnels, List<SensorSpec> sensors)
    {
        var siteId = site.Segment("id") ?? "site";
        var numbers = SensorKinds.All.ToDictionary(k => k, _ => 0);
        foreach (var t in site.Maps("tunnels", "a tunnel", required: true))
        {
            var id = t.Segment("id") ?? "tunnel";
            if (tunnels.Any(x => x.Site == siteId && x.Id == id))
            {
                site.Errors.Add(t.Raw("id")!, $"tunnel '{id}' appears twice in site '{siteId}'");
            }
            var length = t.Number("length_m", 100, 1, 100_000, required: true);
            var portals = t.Numbers("portals", 0, length) ?? [0, length];
            var tunnel = new TunnelSpec(siteId, id, length, portals,
                t.Number("deep_temp_c", 12, -20, 40),
                t.Number("deep_rh_pct", 96, 0, 100),
                t.Number("co2_ppm", 700, 300, 20_000),
                t.Number("portal_influence_m", 80, 1, 10_000));
            tunnels.Add(tunnel);

            if (t.Map("sensors", "sensors") is { } groups)
            {
                foreach (var kind in SensorKinds.All)
                {
                    if (groups.Map(kind.Name(), kind.Name() + " sensors") is { } g)
                    {
                        foreach (var (chainage, strain, interval) in ReadGroup(g, kind, tunnel, intervals[kind]))
                        {
                            numbers[kind]++;
                            var address = new SensorAddress(siteId, id, kind, $"{kind.Name()}-{numbers[kind].ToString("0000", CultureInfo.InvariantCulture)}");
                            sensors.Add(new SensorSpec(sensors.Count, address, tunnel, chainage, interval, strain));
                        }
                    }
                }
                groups.RejectUnknownKeys($"the sensors of tunnel '{id}' (kinds are humidity, gas, strain)");
            }
            t.RejectUnknownKeys($"tunnel '{id}'");
        }
        site.RejectUnknownKeys($"site '{siteId}'");
    }

    private static IEnumerable<(double Chainage, StrainSpec Strain, TimeSpan Interval)> ReadGroup(YamlMap g, SensorKind kind, TunnelSpec tunnel, TimeSpan defaultInterval)
    {
        var interval = g.Duration("interval", defaultInterval, allowZero: false);
        var chainages = g.Numbers("chainages", 0, tunnel.LengthM);
        if (g.Has("count"))
        {
            var count = g.Integer("count", 0, 0, 10_000);
            if (chainages is not null)
            {
                g.Errors.Add(g.Raw("count")!, "give either 'count' (evenly spaced) or 'chainages', not both");
            }
            // Evenly spaced, half a spacing in from each end, to the metre.
            chainages = Enumerable.Range(0, count).Select(i => Math.Round(tunnel.LengthM * (i + 0.5) / count)).ToList();
        }
        if (chainages is null)
        {
            g.Errors.Add(g.Node, "give 'count' or 'chainages'");
            chainages = [];
        }
        var strain = StrainSpec.Default;
        if (kind == SensorKind.Strain)
        {
            double? baseline = g.Has("baseline") ? g.Number("baseline", 0, -5000, 5000) : null;
            var range = g.Numbers("baseline_range", -5000, 5000) ?? [strain.BaselineMin, strain.BaselineMax];
            if (range.Count != 2 || range[0] > range[1])
            {
                g.Errors.Add(g.Raw("baseline_range")!, "'baseline_range' must be [min, max]");
                range = [strain.BaselineMin, strain.BaselineMax];
            }
            strain = new StrainSpec(baseline, range[0], range[1],
                g.Number("temp_coeff", strain.TempCoefficient, -30, 30),
                g.Number("creep_per_day", strain.CreepPerDay, -1000, 1000));
        }
        g.RejectUnknownKeys($"{kind.Name()} sensors of tunnel '{tunnel.Id}'");
        return chainages.Select(c => (c, strain, interval));
    }
}

/// <summary>Finds the sensors and tunnels incidents name, reporting names that do not exist or are ambiguous.</summary>
internal sealed class SensorResolver(IReadOnlyList<SensorSpec> sensors, IReadOnlyList<TunnelSpec> tunnels, YamlErrors errors)
{
    public YamlErrors Errors { get; } = errors;

    public SensorKind KindOf(int sensor) => sensors[sensor].Kind;

    public IReadOnlyList<FieldSpec> FieldsOf(int sensor) => FieldCatalogue.ValuesFor(sensors[sensor].Kind);

    /// <summary>A tunnel by id (and site, when the id is not unique).</summary>
    public TunnelSpec? Tunnel(YamlMap m)
    {
        var site = m.String("site");
        var id = m.String("tunnel", required: true);
        if (id is null)
        {
            return null;
        }
        var found = tunnels.Where(t => t.Id == id && (site is null || t.Site == site)).ToList();
        if (found.Count == 1)
        {
            return found[0];
        }
        Errors.Add(m.Raw("tunnel")!, found.Count == 0
            ? $"no tunnel '{id}'{(site is null ? "" : $" in site '{site}'")}"
            : $"tunnel '{id}' exists in several sites: add 'site'");
        return null;
    }

    /// <summary>The sensors named by <c>sensor</c> (one) or <c>sensors</c> (a list), optionally of the given kinds only.</summary>
    public List<int> Sensors(YamlMap m, params SensorKind[] kinds)
    {
        var site = m.String("site");
        var names = m.Strings("sensors") ?? m.Strings("sensor");
        if (names is null)
        {
            Errors.Add(m.Node, "'sensor' (or 'sensors') is required");
            return [];
        }
        var result = new List<int>();
        foreach (var (name, node) in names)
        {
            // "t01/gas-0003" and "kukes/t01/gas-0003" are accepted too, for readability in multi-site files.
            var parts = name.Split('/');
            var found = sensors.Where(s => s.Id == parts[^1]
                && (parts.Length < 2 || s.Tunnel.Id == parts[^2])
                && (parts.Length < 3 || s.Tunnel.Site == parts[^3])
                && (site is null || s.Tunnel.Site == site)).ToList();
            if (found.Count != 1)
            {
                Errors.Add(node, found.Count == 0 ? $"no sensor '{name}'" : $"sensor '{name}' is ambiguous: write site/tunnel/sensor");
                continue;
            }
            if (kinds.Length > 0 && !kinds.Contains(found[0].Kind))
            {
                Errors.Add(node, $"sensor '{name}' is a {found[0].Kind.Name()} sensor; this incident needs {string.Join(" or ", kinds.Select(k => k.Name()))}");
                continue;
            }
            result.Add(found[0].Index);
        }
        return result;
    }
}
