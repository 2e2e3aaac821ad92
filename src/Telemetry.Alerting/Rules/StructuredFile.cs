using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Telemetry.Alerting.Rules;

/// <summary>
/// Reads a YAML or JSON file (JSON is YAML's subset as far as our files go) keeping line numbers, so an error can say
/// "registry.yaml line 12: sensors[3].chainage_m: ...".
/// </summary>
internal static class StructuredFile
{
    // setting: the configuration key that named the file, so a missing file names the setting (SPEC §9).
    public static YamlMappingNode? Load(string path, ICollection<string> errors, string setting)
    {
        if (!File.Exists(path))
        {
            errors.Add($"{setting}: {path}: file not found");
            return null;
        }
        try
        {
            using var reader = new StreamReader(path);
            var stream = new YamlStream();
            stream.Load(reader);
            if (stream.Documents.Count == 0)
            {
                return new YamlMappingNode();
            }
            if (stream.Documents[0].RootNode is YamlMappingNode root)
            {
                return root;
            }
            errors.Add($"{path} line {stream.Documents[0].RootNode.Start.Line}: the file must hold a mapping (an object)");
        }
        catch (YamlException ex)
        {
            errors.Add($"{path} line {ex.Start.Line}: {ex.InnerException?.Message ?? ex.Message}");
        }
        return null;
    }

    public static string Where(string path, YamlNode node, string name) => $"{Path.GetFileName(path)} line {node.Start.Line}: {name}";

    public static IEnumerable<(string Key, YamlNode Value, YamlNode KeyNode)> Entries(YamlMappingNode map)
    {
        foreach (var (k, v) in map.Children)
        {
            yield return ((k as YamlScalarNode)?.Value ?? "", v, k);
        }
    }

    public static YamlNode? Child(YamlMappingNode map, string key)
    {
        foreach (var (k, v) in map.Children)
        {
            if (string.Equals((k as YamlScalarNode)?.Value, key, StringComparison.OrdinalIgnoreCase))
            {
                return v;
            }
        }
        return null;
    }

    public static string? Scalar(YamlNode node) => node is YamlScalarNode s ? s.Value : null;

    /// <summary>The options of one rule in a file: <c>{ Red: 50, For: 10m }</c>.</summary>
    public static IEnumerable<RuleOption> RuleOptions(string path, string prefix, YamlNode node, ICollection<string> errors)
    {
        if (node is not YamlMappingNode map)
        {
            errors.Add($"{Where(path, node, prefix)}: expected a mapping of options");
            yield break;
        }
        foreach (var (key, value, keyNode) in Entries(map))
        {
            if (value is not YamlScalarNode scalar)
            {
                errors.Add($"{Where(path, value, $"{prefix}:{key}")}: expected a single value");
                continue;
            }
            yield return new RuleOption(key, scalar.Value, Where(path, keyNode, $"{prefix}:{key}"));
        }
    }
}
