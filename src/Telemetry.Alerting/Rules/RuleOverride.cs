using System.Globalization;
using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;

namespace Telemetry.Alerting.Rules;

/// <summary>One option of one rule as written somewhere (configuration, a rules file, the registry), with where.</summary>
/// <param name="Key">The option name (<c>Red</c>, <c>For</c>, …), any case.</param>
/// <param name="Value">The text as written; empty removes the option.</param>
/// <param name="Where">How an error names it: <c>Telemetry:Alerts:Rules:co-instant:Red</c> or <c>rules.yaml line 4: Rules:co-instant:Red</c>.</param>
public sealed record RuleOption(string Key, string? Value, string Where);

/// <summary>
/// Applies textual options over a rule. One parser for every source, so configuration, the rules file and the
/// registry accept exactly the same spellings and report errors the same way.
/// </summary>
public static class RuleOverride
{
    /// <summary>Options the registry may change per site, tunnel or sensor: levels and timing, never what a rule watches.</summary>
    public static readonly IReadOnlySet<string> LevelOptions =
        new HashSet<string>(["Amber", "Red", "Hysteresis", "For", "Window", "After", "Repeat", "Enabled", "Direction"], StringComparer.OrdinalIgnoreCase);

    private static readonly HashSet<string> AllOptions =
        new HashSet<string>([.. LevelOptions, "Type", "Kind", "Field"], StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Layers <paramref name="options"/> over <paramref name="current"/> (null: a new rule). Every problem is added to
    /// <paramref name="errors"/>; the result is null only when a new rule lacks what it needs to exist.
    /// </summary>
    public static RuleDefinition? Apply(string ruleId, RuleDefinition? current, IEnumerable<RuleOption> options, ICollection<string> errors, bool levelsOnly = false)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(errors);
        var r = current ?? new RuleDefinition { Id = ruleId, Type = (RuleType)255, Kind = "" };
        IReadOnlySet<string> allowed = levelsOnly ? LevelOptions : AllOptions;
        var directionGiven = false;
        foreach (var o in options)
        {
            if (!allowed.Contains(o.Key))
            {
                errors.Add(levelsOnly && AllOptions.Contains(o.Key)
                    ? $"{o.Where}: '{o.Key}' cannot be overridden here (only {string.Join(", ", LevelOptions)})"
                    : $"{o.Where}: unknown option '{o.Key}' (expected one of {string.Join(", ", AllOptions)})");
                continue;
            }
            var v = o.Value?.Trim();
            switch (o.Key.ToUpperInvariant())
            {
                case "TYPE":
                    if (TryEnum<RuleType>(v, out var type)) r = r with { Type = type };
                    else errors.Add($"{o.Where}: '{v}' is not a rule type (threshold, average, rate, stale)");
                    break;
                case "KIND":
                    if (v is "any" || (v is not null && SensorKinds.TryParse(v, out _))) r = r with { Kind = v };
                    else errors.Add($"{o.Where}: '{v}' is not a kind (humidity, gas, strain, any)");
                    break;
                case "FIELD":
                    r = r with { Field = v ?? "" };
                    break;
                case "DIRECTION":
                    directionGiven = true;
                    if (TryEnum<RuleDirection>(v, out var dir)) r = r with { Direction = dir };
                    else errors.Add($"{o.Where}: '{v}' is not a direction (above, below, abs)");
                    break;
                case "AMBER":
                    if (TryNumber(v, o, errors, out var amber)) r = r with { Amber = amber };
                    break;
                case "RED":
                    if (TryNumber(v, o, errors, out var red)) r = r with { Red = red };
                    break;
                case "HYSTERESIS":
                    if (TryNumber(v, o, errors, out var h)) r = r with { Hysteresis = h };
                    break;
                case "FOR":
                    if (TryDuration(v, o, errors, out var @for)) r = r with { For = @for };
                    break;
                case "WINDOW":
                    if (TryDuration(v, o, errors, out var window)) r = r with { Window = window };
                    break;
                case "AFTER":
                    if (TryDuration(v, o, errors, out var after)) r = r with { After = after };
                    break;
                case "REPEAT":
                    if (TryDuration(v, o, errors, out var repeat)) r = r with { Repeat = repeat };
                    break;
                case "ENABLED":
                    if (bool.TryParse(v, out var enabled)) r = r with { Enabled = enabled };
                    else errors.Add($"{o.Where}: '{v}' is not true or false");
                    break;
            }
        }
        // SPEC §7.2: a rate fires on change "in either direction"; a new rate rule without Direction is abs.
        if (!directionGiven && r.Type == RuleType.Rate && current?.Type != RuleType.Rate)
        {
            r = r with { Direction = RuleDirection.Abs };
        }
        return r;
    }

    /// <summary>Checks one complete rule; <paramref name="where"/> prefixes each error with the rule's location.</summary>
    public static void Validate(RuleDefinition r, string where, ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(r);
        ArgumentNullException.ThrowIfNull(errors);
        if (!Enum.IsDefined(r.Type))
        {
            errors.Add($"{where}:Type: missing (a new rule needs Type, Kind and Field)");
            return;
        }
        if (r.Type == RuleType.Stale)
        {
            if (r.Kind != "any" && !SensorKinds.TryParse(r.Kind, out _))
            {
                errors.Add($"{where}:Kind: '{r.Kind}' is not a kind (humidity, gas, strain, any)");
            }
            if (r.After is not { } after || after <= TimeSpan.Zero)
            {
                errors.Add($"{where}:After: a stale rule needs a positive After (e.g. 15m)");
            }
            if (r.Red is not null)
            {
                errors.Add($"{where}:Red: a stale rule is amber only");
            }
            return;
        }
        if (!SensorKinds.TryParse(r.Kind, out var kind))
        {
            errors.Add($"{where}:Kind: '{r.Kind}' is not a kind (humidity, gas, strain; 'any' is for stale rules only)");
        }
        else if (!FieldCatalogue.StoredFor(kind).Any(f => f.Name == r.Field))
        {
            errors.Add($"{where}:Field: '{r.Field}' is not a field of {r.Kind} (expected one of {string.Join(", ", FieldCatalogue.StoredFor(kind).Select(f => f.Name))})");
        }
        if (r.Amber is null && r.Red is null)
        {
            errors.Add($"{where}:Amber: a {r.Type.ToString().ToLowerInvariant()} rule needs an Amber or a Red level");
        }
        if (r.Amber is { } a && r.Red is { } red)
        {
            var ordered = r.Direction == RuleDirection.Below ? a > red : a < red;
            if (!ordered)
            {
                errors.Add(r.Direction == RuleDirection.Below
                    ? $"{where}:Red: red level {Fmt(red)} must be below the amber level {Fmt(a)} for a 'below' rule"
                    : $"{where}:Red: red level {Fmt(red)} must be above the amber level {Fmt(a)} for an '{r.Direction.ToString().ToLowerInvariant()}' rule");
            }
        }
        if (r.Direction == RuleDirection.Abs && (r.Amber < 0 || r.Red < 0))
        {
            errors.Add($"{where}:Amber: levels of an 'abs' rule are magnitudes and cannot be negative");
        }
        if (r.Hysteresis is < 0)
        {
            errors.Add($"{where}:Hysteresis: {Fmt(r.Hysteresis.Value)} cannot be negative");
        }
        if (r.Type == RuleType.Average && r.Direction != RuleDirection.Above)
        {
            // SPEC §7.2: an exposure mean above a limit. The window counts unmeasured time as zero exposure, so "below"
            // would fire on a sensor's first reading (a fresh O2 average is 0), and 'abs' has no exposure meaning.
            errors.Add($"{where}:Direction: an average rule is 'above' only (an exposure limit)");
        }
        if (r.Type is RuleType.Average or RuleType.Rate && (r.Window is not { } w || w <= TimeSpan.Zero))
        {
            errors.Add($"{where}:Window: an {r.Type.ToString().ToLowerInvariant()} rule needs a positive Window (e.g. 15m)");
        }
        if (r.Repeat is { } rep && rep <= TimeSpan.Zero)
        {
            errors.Add($"{where}:Repeat: must be positive");
        }
    }

    internal static string Fmt(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);

    private static bool IsAbsent(string? v) => string.IsNullOrEmpty(v) || v is "~" or "null" or "none";

    private static bool TryEnum<T>(string? v, out T value) where T : struct, Enum =>
        Enum.TryParse(v, ignoreCase: true, out value) && Enum.IsDefined(value) && !int.TryParse(v, out _);

    // An empty value removes the option (e.g. Telemetry__Alerts__Rules__co-twa__Amber= with Red set instead).
    private static bool TryNumber(string? v, RuleOption o, ICollection<string> errors, out double? value)
    {
        value = null;
        if (IsAbsent(v))
        {
            return true;
        }
        if (double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
        {
            value = d;
            return true;
        }
        errors.Add($"{o.Where}: '{v}' is not a number");
        return false;
    }

    private static bool TryDuration(string? v, RuleOption o, ICollection<string> errors, out TimeSpan? value)
    {
        value = null;
        if (IsAbsent(v))
        {
            return true;
        }
        if (Durations.TryParse(v, out var d))
        {
            value = d;
            return true;
        }
        errors.Add($"{o.Where}: '{v}' is not a duration (30s, 15m, 8h, 2d or hh:mm:ss)");
        return false;
    }
}
