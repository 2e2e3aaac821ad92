using System.CommandLine;
using System.Globalization;
using Telemetry.Simulator.Generation;
using Telemetry.Simulator.Publishing;
using Telemetry.Simulator.Scenarios;

namespace Telemetry.Simulator.Cli;

/// <summary><c>run</c>: publish a scenario's feed to a broker, in real time or faster.</summary>
internal static class RunCommand
{
    /// <summary>What <c>--speed</c> above 1 plays without <c>--duration</c>: the last day, ending now.</summary>
    public static readonly TimeSpan AcceleratedDefault = TimeSpan.FromDays(1);

    public static (Command, string[]) Create(TimeProvider time)
    {
        var scenario = new Option<FileInfo>("--scenario") { Description = "Scenario YAML file", HelpName = "FILE", Required = true };
        var seed = CommonOptions.Seed();
        var speed = CommonOptions.Speed();
        var duration = CommonOptions.Duration(required: false);
        duration.Description = "How long, on the scenario's clock (90s, 10m, 8h, 2d); default: until Ctrl+C in real time, the last day when faster";
        var topicRoot = CommonOptions.TopicRoot();
        var publishing = new PublishOptionSet();
        var command = new Command("run", "Publish a scenario's fleet and incidents to an MQTT broker. Faster than real time, the feed is placed so that its last reading is stamped 'now': no timestamp is ever in the future.")
        {
            scenario, seed, speed, duration, topicRoot,
        };
        publishing.AddTo(command);
        command.SetAction((parse, ct) => SimulatorCli.GuardAsync(parse, async (output, token) =>
        {
            var loaded = ScenarioLoader.Load(parse.GetRequiredValue(scenario).FullName);
            var generator = new FeedGenerator(loaded, parse.GetValue(seed), parse.GetValue(topicRoot));
            var x = parse.GetValue(speed);
            var length = parse.GetValue(duration);
            var openEnded = length is null; // Ctrl+C is how such a run ends, not an interruption
            if (length is null && x > 1)
            {
                // Faster than real time the feed's clock stays behind the real one (no ts more than 5 min ahead, SPEC §4)
                // only when a feed of known length is placed in the past: open-ended, it would run ahead within seconds.
                length = AcceleratedDefault;
            }
            var start = FeedPlayer.VirtualStart(time.GetUtcNow(), length, x);
            var feed = generator.Generate(start, length ?? TimeSpan.MaxValue);
            await using var publisher = await publishing.ConnectAsync(parse, token);
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"run {loaded.Name}: {loaded.Sensors.Count} sensors, {loaded.Incidents.Count} incidents, seed {generator.Seed}, speed {x}, topic root {generator.TopicRoot}, broker {parse.GetValue(publishing.Broker)}"));
            var (count, elapsed) = await PublishOptionSet.PlayAsync(feed, publisher, x, time, output, openEnded, token);
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"published {count:N0} messages in {elapsed.TotalSeconds:0.0} s"));
            return SimulatorCli.Ok;
        }, ct));
        return (command,
        [
            "Telemetry.Simulator run --scenario simulator/scenarios/kukes-baseline.yaml",
            "Telemetry.Simulator run --scenario simulator/scenarios/methane-leak.yaml --speed 60 --duration 5m",
            "Telemetry.Simulator run --scenario simulator/scenarios/sensor-faults.yaml --seed 7 --broker mqtt.local:1883 --topic-root demo",
        ]);
    }
}
