using System.Globalization;
using System.Text.Json.Nodes;
using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;

namespace Telemetry.Dashboards;

/// <summary>
/// Grafana threshold steps computed from alert rules, so a panel's colours change when a rule default changes.
/// Grafana colours a value by the last step whose value it reaches; the rules fire strictly past a level, so the
/// two differ only at exactly the level.
/// </summary>
internal static class Thresholds
{
    public const string Green = "green";
    public const string Amber = "#FFBF00";
    public const string Red = "red";

    public static string Colour(AlertLevel level) => level switch
    {
        AlertLevel.Normal => Green,
        AlertLevel.Amber => Amber,
        AlertLevel.Red => Red,
        _ => throw new ArgumentOutOfRangeException(nameof(level)),
    };

    /// <summary>The enabled default rules of one type that watch this field of this kind.</summary>
    public static IReadOnlyList<RuleDefinition> Rules(SensorKind kind, FieldSpec field, RuleType type, TimeSpan? window = null) =>
        [.. DefaultRules.All.Where(r => r.Enabled && r.Type == type && r.Kind == kind.Name() && r.Field == field.Name
            && (window is null || r.Window == window))];

    /// <summary>
    /// Steps for a panel that shows the quantity these rules judge. Several rules may share a panel (o2-low and
    /// o2-high): each interval between levels takes the worst level any rule gives it, so below-direction rules
    /// colour downwards and absolute-value rules colour both signs.
    /// </summary>
    public static JsonObject Steps(IReadOnlyList<RuleDefinition> rules)
    {
        var levels = rules.SelectMany(Boundaries).Distinct().Order().ToList();
        var steps = new JsonArray();
        var previous = Colour(Worst(rules, double.NegativeInfinity));
        steps.Add(new JsonObject { ["color"] = previous, ["value"] = null });
        for (var i = 0; i < levels.Count; i++)
        {
            var probe = i + 1 < levels.Count ? (levels[i] + levels[i + 1]) / 2 : levels[i] + Math.Max(1, Math.Abs(levels[i]));
            var colour = Colour(Worst(rules, probe));
            if (colour != previous)
            {
                steps.Add(new JsonObject { ["color"] = colour, ["value"] = levels[i] });
                previous = colour;
            }
        }
        return new JsonObject { ["mode"] = "absolute", ["steps"] = steps };
    }

    /// <summary>"Thresholds from rules: a, b." — the deployment tests find a panel's rules by this sentence.</summary>
    public static string Describe(IReadOnlyList<RuleDefinition> rules, string unit) => rules.Count == 0
        ? ""
        : "Thresholds from rules: " + string.Join(", ", rules.Select(r => r.Id)) + ". "
            + string.Join("; ", rules.Select(r => $"{r.Id}: {r.Direction.ToString().ToLowerInvariant()}"
                + (r.Amber is { } a ? $", amber {Number(a)} {unit}" : "")
                + (r.Red is { } red ? $", red {Number(red)} {unit}" : "")))
            + ".";

    private static string Number(double value) => value.ToString(CultureInfo.InvariantCulture);

    private static IEnumerable<double> Boundaries(RuleDefinition rule)
    {
        foreach (var level in new[] { rule.Amber, rule.Red })
        {
            if (level is not { } l)
            {
                continue;
            }
            yield return l;
            if (rule.Direction == RuleDirection.Abs)
            {
                yield return -l;
            }
        }
    }

    private static AlertLevel Worst(IReadOnlyList<RuleDefinition> rules, double value) =>
        rules.Count == 0 ? AlertLevel.Normal : rules.Max(r => LevelAt(r, value));

    /// <summary>The level a rule gives a value (SPEC §7.2), without hysteresis or duration.</summary>
    internal static AlertLevel LevelAt(RuleDefinition rule, double value)
    {
        bool Past(double level) => rule.Direction switch
        {
            RuleDirection.Above => value > level,
            RuleDirection.Below => value < level,
            RuleDirection.Abs => Math.Abs(value) > level,
            _ => throw new ArgumentOutOfRangeException(nameof(rule)),
        };
        return rule.Red is { } red && Past(red) ? AlertLevel.Red
            : rule.Amber is { } amber && Past(amber) ? AlertLevel.Amber
            : AlertLevel.Normal;
    }
}
