using System.Globalization;
using Microsoft.Extensions.Options;
using Telemetry.Alerting.Rules;
using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;
using YamlDotNet.RepresentationModel;

namespace Telemetry.Alerting.Registry;

/// <summary>Options of the sensor registry, SPEC §9 (<c>Telemetry:Registry</c>).</summary>
public sealed class RegistryOptions
{
    public const string Section = "Telemetry:Registry";

    /// <summary>The registry file (YAML or JSON). Empty: no registry, every sensor gets the plain rules.</summary>
    public string? File { get; set; }

    /// <summary>Accept only registered sensors: the ingestion service rejects others as <c>unknown_sensor</c>.</summary>
    public bool Strict { get; set; }
}

/// <summary>One registered sensor.</summary>
public sealed record SensorEntry(string Site, string Tunnel, SensorKind Kind, string Sensor)
{
    public string? Zone { get; init; }
    public double? ChainageM { get; init; }

    /// <summary>Strain gauges: the microstrain that strain rules subtract first.</summary>
    public double Baseline { get; init; }

    /// <summary>Rule options for this sensor only, by rule id (levels, timing, <c>Enabled</c>).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<RuleOption>> Rules { get; init; } = Empty;

    internal static readonly IReadOnlyDictionary<string, IReadOnlyList<RuleOption>> Empty = new Dictionary<string, IReadOnlyList<RuleOption>>();
}

/// <summary>
/// The sensor registry of SPEC §9: who the sensors are (zone, chainage, strain baseline) and per site, tunnel and
/// sensor rule overrides. Immutable once loaded; safe to read from any thread.
/// </summary>
public sealed class SensorRegistry
{
    // Keyed by a tuple, not a joined string: the lookup runs for every MQTT message and must not allocate.
    private readonly Dictionary<(string Site, string Tunnel, string Sensor), SensorEntry> _sensors = [];
    private readonly Dictionary<string, IReadOnlyDictionary<string, IReadOnlyList<RuleOption>>> _sites = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyDictionary<string, IReadOnlyList<RuleOption>>> _tunnels = new(StringComparer.Ordinal);

    /// <summary>Only registered sensors are accepted (<c>Telemetry:Registry:Strict</c>).</summary>
    public bool Strict { get; private init; }

    public int Count => _sensors.Count;

    /// <summary>Every registered sensor.</summary>
    public IEnumerable<SensorEntry> Sensors => _sensors.Values;

    public IReadOnlyList<string> Errors { get; private init; } = [];

    public static SensorRegistry Empty { get; } = new();

    public bool TryGet(string site, string tunnel, string sensor, out SensorEntry entry) =>
        _sensors.TryGetValue((site, tunnel, sensor), out entry!);

    /// <summary>
    /// The rules that apply to one sensor: those of its kind (and <c>any</c>), with site, then tunnel, then sensor
    /// overrides layered on, switched-off rules left out.
    /// </summary>
    public IReadOnlyList<RuleDefinition> RulesFor(SensorAddress address, IReadOnlyList<RuleDefinition> rules)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(rules);
        TryGet(address.Site, address.Tunnel, address.Sensor, out var entry);
        var kind = address.Kind.Name();
        var result = new List<RuleDefinition>();
        foreach (var rule in rules)
        {
            if (rule.Kind != kind && rule.Kind != "any")
            {
                continue;
            }
            var r = Layered(rule, address.Site, address.Tunnel, entry, errors: null);
            if (r.Enabled)
            {
                result.Add(r);
            }
        }
        return result;
    }

    private RuleDefinition Layered(RuleDefinition rule, string site, string? tunnel, SensorEntry? entry, ICollection<string>? errors)
    {
        // Load-time validation has seen every chain, so errors here are impossible; collect them only when asked.
        var sink = errors ?? new List<string>();
        var r = rule;
        if (_sites.TryGetValue(site, out var s) && s.TryGetValue(rule.Id, out var so))
        {
            r = RuleOverride.Apply(rule.Id, r, so, sink, levelsOnly: true)!;
        }
        if (tunnel is not null && _tunnels.TryGetValue($"{site}/{tunnel}", out var t) && t.TryGetValue(rule.Id, out var to))
        {
            r = RuleOverride.Apply(rule.Id, r, to, sink, levelsOnly: true)!;
        }
        if (entry is not null && entry.Rules.TryGetValue(rule.Id, out var eo))
        {
            r = RuleOverride.Apply(rule.Id, r, eo, sink, levelsOnly: true)!;
        }
        return r;
    }

    /// <summary>Loads and checks the registry file against the rule table; every problem lands in <see cref="Errors"/>.</summary>
    public static SensorRegistry Load(RegistryOptions options, AlertRules rules)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(rules);
        var errors = new List<string>();
        var registry = new SensorRegistry { Strict = options.Strict, Errors = errors };
        if (string.IsNullOrWhiteSpace(options.File))
        {
            if (options.Strict)
            {
                errors.Add($"{RegistryOptions.Section}:Strict: strict mode needs {RegistryOptions.Section}:File");
            }
            return registry;
        }
        var path = options.File;
        var root = StructuredFile.Load(path, errors, $"{RegistryOptions.Section}:File");
        if (root is null)
        {
            return registry;
        }
        var ruleIds = rules.Rules.ToDictionary(r => r.Id, StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value, keyNode) in StructuredFile.Entries(root))
        {
            if (value is not YamlSequenceNode list)
            {
                errors.Add($"{StructuredFile.Where(path, keyNode, key)}: expected a list");
                continue;
            }
            var i = 0;
            foreach (var item in list)
            {
                var name = $"{key}[{i++}]";
                if (item is not YamlMappingNode map)
                {
                    errors.Add($"{StructuredFile.Where(path, item, name)}: expected a mapping");
                    continue;
                }
                switch (key.ToLowerInvariant())
                {
                    case "sites":
                        registry.ReadScope(path, name, map, ruleIds, errors, needTunnel: false);
                        break;
                    case "tunnels":
                        registry.ReadScope(path, name, map, ruleIds, errors, needTunnel: true);
                        break;
                    case "sensors":
                        registry.ReadSensor(path, name, map, ruleIds, errors);
                        break;
                    default:
                        errors.Add($"{StructuredFile.Where(path, keyNode, key)}: unknown section (expected sites, tunnels, sensors)");
                        break;
                }
            }
        }
        registry.CheckChains(path, rules.Rules, errors);
        return registry;
    }

    private void ReadScope(string path, string name, YamlMappingNode map, Dictionary<string, RuleDefinition> ruleIds, List<string> errors, bool needTunnel)
    {
        string? site = null, tunnel = null;
        IReadOnlyDictionary<string, IReadOnlyList<RuleOption>> overrides = SensorEntry.Empty;
        foreach (var (key, value, keyNode) in StructuredFile.Entries(map))
        {
            switch (key.ToLowerInvariant())
            {
                case "site": site = Segment(path, $"{name}.site", value, errors); break;
                case "tunnel" when needTunnel: tunnel = Segment(path, $"{name}.tunnel", value, errors); break;
                case "rules": overrides = ReadRules(path, $"{name}.rules", value, ruleIds, errors); break;
                default: errors.Add($"{StructuredFile.Where(path, keyNode, $"{name}.{key}")}: unknown member"); break;
            }
        }
        if (site is null || (needTunnel && tunnel is null))
        {
            errors.Add($"{StructuredFile.Where(path, map, name)}: needs site{(needTunnel ? " and tunnel" : "")}");
            return;
        }
        var target = needTunnel ? _tunnels : _sites;
        var id = needTunnel ? $"{site}/{tunnel}" : site;
        if (!target.TryAdd(id, overrides))
        {
            errors.Add($"{StructuredFile.Where(path, map, name)}: '{id}' is listed twice");
        }
    }

    private void ReadSensor(string path, string name, YamlMappingNode map, Dictionary<string, RuleDefinition> ruleIds, List<string> errors)
    {
        string? site = null, tunnel = null, sensor = null, zone = null;
        SensorKind? kind = null;
        double? chainage = null;
        double baseline = 0;
        IReadOnlyDictionary<string, IReadOnlyList<RuleOption>> overrides = SensorEntry.Empty;
        foreach (var (key, value, keyNode) in StructuredFile.Entries(map))
        {
            var field = $"{name}.{key}";
            switch (key.ToLowerInvariant())
            {
                case "site": site = Segment(path, field, value, errors); break;
                case "tunnel": tunnel = Segment(path, field, value, errors); break;
                case "sensor": sensor = Segment(path, field, value, errors); break;
                case "kind":
                    if (SensorKinds.TryParse(StructuredFile.Scalar(value), out var k)) kind = k;
                    else errors.Add($"{StructuredFile.Where(path, value, field)}: '{StructuredFile.Scalar(value)}' is not a kind (humidity, gas, strain)");
                    break;
                case "zone": zone = Segment(path, field, value, errors); break;
                case "chainage_m": chainage = Number(path, field, value, errors); break;
                case "baseline": baseline = Number(path, field, value, errors) ?? 0; break;
                case "rules": overrides = ReadRules(path, $"{name}.rules", value, ruleIds, errors); break;
                default: errors.Add($"{StructuredFile.Where(path, keyNode, field)}: unknown member"); break;
            }
        }
        if (site is null || tunnel is null || sensor is null || kind is null)
        {
            errors.Add($"{StructuredFile.Where(path, map, name)}: a sensor needs site, tunnel, kind and sensor");
            return;
        }
        var entry = new SensorEntry(site, tunnel, kind.Value, sensor) { Zone = zone, ChainageM = chainage, Baseline = baseline, Rules = overrides };
        if (!_sensors.TryAdd((site, tunnel, sensor), entry))
        {
            errors.Add($"{StructuredFile.Where(path, map, name)}: {site}/{tunnel}/{sensor} is listed twice");
        }
    }

    private static Dictionary<string, IReadOnlyList<RuleOption>> ReadRules(string path, string name, YamlNode node, Dictionary<string, RuleDefinition> ruleIds, List<string> errors)
    {
        var result = new Dictionary<string, IReadOnlyList<RuleOption>>(StringComparer.OrdinalIgnoreCase);
        if (node is not YamlMappingNode map)
        {
            errors.Add($"{StructuredFile.Where(path, node, name)}: expected a mapping of rule id to options");
            return result;
        }
        foreach (var (id, options, keyNode) in StructuredFile.Entries(map))
        {
            if (!ruleIds.TryGetValue(id, out var rule))
            {
                errors.Add($"{StructuredFile.Where(path, keyNode, $"{name}.{id}")}: no rule '{id}' (known: {string.Join(", ", ruleIds.Keys)})");
                continue;
            }
            var list = StructuredFile.RuleOptions(path, $"{name}.{id}", options, errors).ToList();
            RuleOverride.Apply(rule.Id, rule, list, errors, levelsOnly: true);
            result[rule.Id] = list;
        }
        return result;
    }

    // Levels layered from site, tunnel and sensor must still make a valid rule (amber below red, ...): check every chain now.
    private void CheckChains(string path, IReadOnlyList<RuleDefinition> rules, List<string> errors)
    {
        var file = Path.GetFileName(path);
        foreach (var rule in rules)
        {
            foreach (var site in _sites.Keys)
            {
                Check(Layered(rule, site, null, null, []), $"{file}: site {site}: rule {rule.Id}");
            }
            foreach (var t in _tunnels.Keys)
            {
                var parts = t.Split('/');
                Check(Layered(rule, parts[0], parts[1], null, []), $"{file}: tunnel {t}: rule {rule.Id}");
            }
            foreach (var e in _sensors.Values)
            {
                if (rule.Kind == e.Kind.Name() || rule.Kind == "any")
                {
                    Check(Layered(rule, e.Site, e.Tunnel, e, []), $"{file}: sensor {e.Site}/{e.Tunnel}/{e.Sensor}: rule {rule.Id}");
                }
            }
        }

        void Check(RuleDefinition r, string where)
        {
            var found = new List<string>();
            RuleOverride.Validate(r, where, found);
            errors.AddRange(found.Where(f => !errors.Contains(f)));
        }
    }

    private static string? Segment(string path, string field, YamlNode node, List<string> errors)
    {
        var v = StructuredFile.Scalar(node);
        if (v is not null && TopicPath.IsValidSegment(v))
        {
            return v;
        }
        errors.Add($"{StructuredFile.Where(path, node, field)}: '{v}' must match ^[A-Za-z0-9_-]{{1,64}}$");
        return null;
    }

    private static double? Number(string path, string field, YamlNode node, List<string> errors)
    {
        var v = StructuredFile.Scalar(node);
        if (double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
        {
            return d;
        }
        errors.Add($"{StructuredFile.Where(path, node, field)}: '{v}' is not a number");
        return null;
    }
}

/// <summary>Stops start-up with every registry error at once.</summary>
internal sealed class SensorRegistryValidator : IValidateOptions<SensorRegistryHolder>
{
    public ValidateOptionsResult Validate(string? name, SensorRegistryHolder options) =>
        options.Registry.Errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(options.Registry.Errors);
}

/// <summary>Carries the loaded registry through the options pipeline so that ValidateOnStart checks it.</summary>
internal sealed class SensorRegistryHolder
{
    public SensorRegistry Registry { get; set; } = SensorRegistry.Empty;
}
