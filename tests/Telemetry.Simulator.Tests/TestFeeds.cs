using Telemetry.Contracts;
using Telemetry.Simulator.Generation;
using Telemetry.Simulator.Scenarios;

namespace Telemetry.Simulator.Tests;

/// <summary>Shipped scenarios and a decoder view of generated feeds.</summary>
internal static class TestFeeds
{
    public static readonly string ScenarioDirectory = FindScenarios();

    public static string Scenario(string name) => Path.Combine(ScenarioDirectory, name + ".yaml");

    public static Scenario Load(string name) => ScenarioLoader.Load(Scenario(name));

    public static List<FeedMessage> Generate(string name, TimeSpan duration, int seed = 1) =>
        Generate(Load(name), duration, seed);

    public static List<FeedMessage> Generate(Scenario scenario, TimeSpan duration, int seed = 1) =>
        new FeedGenerator(scenario, seed).Generate(scenario.Start, duration).ToList();

    /// <summary>What the service's decoder makes of a message received at the moment it was sent.</summary>
    public static Decoded Decode(FeedMessage m, DateTimeOffset start)
    {
        var readings = new List<Reading>();
        var rejections = new List<Rejection>();
        if (!TopicPath.TryParse(m.Topic, Telemetry.Simulator.Scenarios.Scenario.DefaultTopicRoot, out var address, out _))
        {
            rejections.Add(new Rejection(RejectionReason.BadTopic, "", "topic"));
            return new Decoded(m, null, readings, rejections);
        }
        new PayloadDecoder(DecodeLimits.Default).Decode(m.Payload, address.Kind, start.ToUnixTimeMilliseconds() + m.OffsetMs, readings, rejections);
        return new Decoded(m, address, readings, rejections);
    }

    /// <summary>Accepted readings of one sensor, in feed order.</summary>
    public static List<(long OffsetMs, Reading Reading)> ReadingsOf(IEnumerable<FeedMessage> feed, DateTimeOffset start, string sensor) =>
        feed.Where(m => m.Topic.EndsWith("/" + sensor, StringComparison.Ordinal))
            .Select(m => Decode(m, start))
            .SelectMany(d => d.Readings.Select(r => (d.Message.OffsetMs, r)))
            .ToList();

    private static string FindScenarios()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "simulator", "scenarios");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException("simulator/scenarios not found above " + AppContext.BaseDirectory);
    }
}

internal sealed record Decoded(FeedMessage Message, SensorAddress? Address, List<Reading> Readings, List<Rejection> Rejections);
