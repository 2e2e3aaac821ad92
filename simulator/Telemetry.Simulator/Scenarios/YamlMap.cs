using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Telemetry.Simulator.Scenarios;

/// <summary>
/// Reads one YAML mapping with typed accessors that record a located error instead of throwing, and notices keys
/// nobody asked for — a misspelt key must not silently fall back to a default.
/// </summary>
internal sealed class YamlMap
{
    private readonly Dictionary<string, YamlNode> _entries = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);
    private readonly Dictionary<string, YamlNode> _keys = new(StringComparer.Ordinal);

    private YamlMap(YamlErrors errors, YamlNode node)
    {
        Errors = errors;
        Node = node;
        if (node is YamlMappingNode mapping)
        {
            foreach (var (k, v) in mapping.Children)
            {
                var key = (k as YamlScalarNode)?.Value ?? "";
                if (!_entries.TryAdd(key, v))
                {
                    errors.Add(k, $"duplicate key '{key}'");
                }
                _keys[key] = k;
            }
        }
    }

    public YamlErrors Errors { get; }

    public YamlNode Node { get; }

    /// <summary>Wraps <paramref name="node"/>; anything but a mapping is reported and reads as empty.</summary>
    public static YamlMap Of(YamlErrors errors, YamlNode node, string what)
    {
        if (node is not YamlMappingNode)
        {
            errors.Add(node, $"{what} must be a mapping (key: value lines)");
        }
        return new YamlMap(errors, node);
    }

    public bool Has(string key) => _entries.ContainsKey(key);

    public YamlNode? Raw(string key)
    {
        _read.Add(key);
        return _entries.GetValueOrDefault(key);
    }

    public string? String(string key, bool required = false)
    {
        switch (Raw(key))
        {
            case null:
                if (required)
                {
                    Errors.Add(Node, $"'{key}' is required");
                }
                return null;
            case YamlScalarNode { Value: { } v }:
                return v;
            case var other:
                Errors.Add(other, $"'{key}' must be a single value");
                return null;
        }
    }

    /// <summary>A topic segment (SPEC §2): <c>^[A-Za-z0-9_-]{1,64}$</c>.</summary>
    public string? Segment(string key, bool required = true)
    {
        var s = String(key, required);
        if (s is not null && !Contracts.TopicPath.IsValidSegment(s))
        {
            Errors.Add(Raw(key)!, $"'{key}' '{s}' is not a valid topic segment (letters, digits, '_' and '-', at most 64)");
            return null;
        }
        return s;
    }

    public double Number(string key, double fallback, double min = double.MinValue, double max = double.MaxValue, bool required = false)
    {
        var s = String(key, required);
        if (s is null)
        {
            return fallback;
        }
        return ParseNumber(Raw(key)!, key, s, min, max) ?? fallback;
    }

    public int Integer(string key, int fallback, int min, int max)
    {
        var s = String(key);
        if (s is null)
        {
            return fallback;
        }
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
        {
            Errors.Add(Raw(key)!, $"'{key}' must be a whole number from {min} to {max}, not '{s}'");
            return fallback;
        }
        return v;
    }

    public TimeSpan Duration(string key, TimeSpan fallback, bool required = false, bool allowNegative = false, bool allowZero = true)
    {
        var s = String(key, required);
        if (s is null)
        {
            return fallback;
        }
        if (!Durations.TryParse(s, out var v, allowNegative) || (!allowZero && v == TimeSpan.Zero))
        {
            Errors.Add(Raw(key)!, $"'{key}' must be a duration like 90s, 10m, 8h or 2d{(allowZero ? "" : " (not zero)")}, not '{s}'");
            return fallback;
        }
        return v;
    }

    /// <summary>A sequence of numbers (<c>[0, 1200]</c>), or null when absent.</summary>
    public List<double>? Numbers(string key, double min = double.MinValue, double max = double.MaxValue)
    {
        var node = Raw(key);
        if (node is null)
        {
            return null;
        }
        if (node is not YamlSequenceNode seq)
        {
            Errors.Add(node, $"'{key}' must be a list like [0, 100]");
            return null;
        }
        var list = new List<double>();
        foreach (var item in seq)
        {
            if (item is YamlScalarNode { Value: { } s } && ParseNumber(item, key, s, min, max) is { } v)
            {
                list.Add(v);
            }
            else if (item is not YamlScalarNode)
            {
                Errors.Add(item, $"'{key}' items must be numbers");
            }
        }
        return list;
    }

    /// <summary>A sequence of plain strings, or a single string as a list of one.</summary>
    public List<(string Value, YamlNode Node)>? Strings(string key)
    {
        var node = Raw(key);
        switch (node)
        {
            case null:
                return null;
            case YamlScalarNode { Value: { } one }:
                return [(one, node)];
            case YamlSequenceNode seq:
                var list = new List<(string, YamlNode)>();
                foreach (var item in seq)
                {
                    if (item is YamlScalarNode { Value: { } s })
                    {
                        list.Add((s, item));
                    }
                    else
                    {
                        Errors.Add(item, $"'{key}' items must be plain values");
                    }
                }
                return list;
            default:
                Errors.Add(node, $"'{key}' must be a value or a list of values");
                return null;
        }
    }

    /// <summary>A sequence of mappings.</summary>
    public List<YamlMap> Maps(string key, string what, bool required = false)
    {
        var node = Raw(key);
        if (node is null)
        {
            if (required)
            {
                Errors.Add(Node, $"'{key}' is required");
            }
            return [];
        }
        if (node is not YamlSequenceNode seq)
        {
            Errors.Add(node, $"'{key}' must be a list ('- ' items)");
            return [];
        }
        return seq.Select(item => Of(Errors, item, what)).ToList();
    }

    public YamlMap? Map(string key, string what) => Raw(key) is { } node ? Of(Errors, node, what) : null;

    /// <summary>Reports every key that no accessor asked for. Call once the mapping has been read.</summary>
    public void RejectUnknownKeys(string where)
    {
        foreach (var (key, keyNode) in _keys)
        {
            if (!_read.Contains(key))
            {
                var known = string.Join(", ", _read.Order(StringComparer.Ordinal));
                Errors.Add(keyNode, $"unknown key '{key}' in {where} (known here: {known})");
            }
        }
    }

    private double? ParseNumber(YamlNode node, string key, string s, double min, double max)
    {
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
        {
            Errors.Add(node, $"'{key}' must be a number, not '{s}'");
            return null;
        }
        if (v < min || v > max)
        {
            Errors.Add(node, $"'{key}' {s} is outside {Show(min)} … {Show(max)}");
            return null;
        }
        return v;
    }

    private static string Show(double v) => v switch
    {
        double.MinValue => "-∞",
        double.MaxValue => "∞",
        _ => v.ToString(CultureInfo.InvariantCulture),
    };
}

/// <summary>The errors found in one file, each with its line and column (YamlDotNet marks are 1-based).</summary>
internal sealed class YamlErrors(string file)
{
    private readonly List<ScenarioError> _errors = [];

    public string File { get; } = file;

    public IReadOnlyList<ScenarioError> All => _errors;

    public void Add(YamlNode node, string reason) => Add(node.Start, reason);

    public void Add(Mark mark, string reason) => _errors.Add(new ScenarioError(File, (int)mark.Line, (int)mark.Column, reason));

    public void ThrowIfAny()
    {
        if (_errors.Count > 0)
        {
            throw new ScenarioException(_errors.OrderBy(e => e.Line).ThenBy(e => e.Column).ToList());
        }
    }
}
