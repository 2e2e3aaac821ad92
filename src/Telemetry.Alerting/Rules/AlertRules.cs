using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Telemetry.Contracts.Alerts;
using YamlDotNet.RepresentationModel;

namespace Telemetry.Alerting.Rules;

/// <summary>
/// The effective rule table: SPEC §7.3 defaults, then <c>Telemetry:Alerts:RulesFile</c>, then
/// <c>Telemetry:Alerts:Rules:{id}:{option}</c>. Built from configuration, not bound, so that a bad number is an error
/// that names its key instead of a binder exception.
/// </summary>
public sealed class AlertRules
{
    public IReadOnlyList<RuleDefinition> Rules { get; internal set; } = DefaultRules.All;

    /// <summary>Every problem found while building; start-up fails when there is any.</summary>
    public IReadOnlyList<string> Errors { get; internal set; } = [];

    public const string Section = "Telemetry:Alerts";

    public static AlertRules Load(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var errors = new List<string>();
        var rules = new Dictionary<string, RuleDefinition?>(StringComparer.OrdinalIgnoreCase);
        foreach (var d in DefaultRules.All)
        {
            rules[d.Id] = d;
        }
        var section = configuration.GetSection(Section);
        if (section["RulesFile"] is { Length: > 0 } file)
        {
            ApplyFile(file, rules, errors);
        }
        foreach (var rule in section.GetSection("Rules").GetChildren())
        {
            var options = rule.GetChildren().Select(o => new RuleOption(o.Key, o.Value, o.Path));
            Layer(rule.Key, options, rules, errors);
        }
        var result = new List<RuleDefinition>();
        foreach (var (id, r) in rules)
        {
            if (r is null)
            {
                continue;
            }
            RuleOverride.Validate(r, $"{Section}:Rules:{id}", errors);
            result.Add(r);
        }
        return new AlertRules { Rules = result, Errors = errors };
    }

    private static void Layer(string id, IEnumerable<RuleOption> options, Dictionary<string, RuleDefinition?> rules, List<string> errors)
    {
        rules.TryGetValue(id, out var current);
        rules[id] = RuleOverride.Apply(current?.Id ?? id, current, options, errors);
    }

    private static void ApplyFile(string path, Dictionary<string, RuleDefinition?> rules, List<string> errors)
    {
        var root = StructuredFile.Load(path, errors, $"{Section}:RulesFile");
        if (root is null)
        {
            return;
        }
        foreach (var (key, value, keyNode) in StructuredFile.Entries(root))
        {
            if (!key.Equals("Rules", StringComparison.OrdinalIgnoreCase) || value is not YamlMappingNode ruleMap)
            {
                errors.Add($"{StructuredFile.Where(path, keyNode, key)}: expected only a 'Rules' mapping of rule id to options");
                continue;
            }
            foreach (var (id, options, _) in StructuredFile.Entries(ruleMap))
            {
                Layer(id, StructuredFile.RuleOptions(path, $"Rules:{id}", options, errors).ToList(), rules, errors);
            }
        }
    }
}

/// <summary>Stops start-up with every rule error at once (<c>ValidateOnStart</c>).</summary>
internal sealed class AlertRulesValidator : IValidateOptions<AlertRules>
{
    public ValidateOptionsResult Validate(string? name, AlertRules options) =>
        options.Errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(options.Errors);
}
