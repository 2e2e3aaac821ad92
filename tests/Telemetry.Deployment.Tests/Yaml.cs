using YamlDotNet.RepresentationModel;

namespace Telemetry.Deployment.Tests;

/// <summary>Small accessors over YamlDotNet's node model, failing with the missing key's name.</summary>
internal static class Yaml
{
    public static YamlMappingNode Load(string path)
    {
        using var reader = new StreamReader(path);
        var stream = new YamlStream();
        stream.Load(reader);
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    public static YamlNode? Get(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var node) ? node : null;

    public static YamlMappingNode Map(YamlNode node, string key) =>
        Get((YamlMappingNode)node, key) as YamlMappingNode ?? throw new Xunit.Sdk.XunitException($"'{key}' is not a mapping");

    public static IReadOnlyList<YamlNode> Seq(YamlNode node, string key) =>
        Get((YamlMappingNode)node, key) is YamlSequenceNode seq ? [.. seq.Children] : throw new Xunit.Sdk.XunitException($"'{key}' is not a list");

    public static string? Str(YamlNode node, string key) => (Get((YamlMappingNode)node, key) as YamlScalarNode)?.Value;

    public static IEnumerable<string> Keys(YamlMappingNode map) => map.Children.Keys.Select(k => ((YamlScalarNode)k).Value!);
}
