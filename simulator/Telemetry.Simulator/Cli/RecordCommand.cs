using System.CommandLine;
using System.Globalization;
using Telemetry.Simulator.Generation;
using Telemetry.Simulator.Recording;
using Telemetry.Simulator.Scenarios;

namespace Telemetry.Simulator.Cli;

/// <summary><c>record</c>: write a scenario's feed to a file on a virtual clock, with no broker.</summary>
internal static class RecordCommand
{
    public static (Command, string[]) Create()
    {
        var scenario = new Option<FileInfo>("--scenario") { Description = "Scenario YAML file", HelpName = "FILE", Required = true };
        var seed = CommonOptions.Seed();
        var duration = CommonOptions.Duration(required: true);
        var output = new Option<FileInfo>("--out") { Description = "Recorded feed to write (JSON lines)", HelpName = "FILE", Required = true };
        var topicRoot = CommonOptions.TopicRoot();
        var start = new Option<DateTimeOffset?>("--start")
        {
            Description = "Virtual start time, RFC 3339 (default: the scenario's 'start', else 2026-11-28T00:00:00Z)",
            HelpName = "TIME",
            CustomParser = r =>
            {
                var text = r.Tokens.Single().Value;
                if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t))
                {
                    return t.ToUniversalTime();
                }
                r.AddError($"--start: '{text}' is not a time like 2026-11-28T06:00:00Z");
                return null;
            },
        };
        var command = new Command("record", "Record a scenario's feed to a file, on a virtual clock and without a broker. The same scenario, seed and start give a byte-identical file.")
        {
            scenario, seed, duration, output, topicRoot, start,
        };
        command.SetAction((parse, ct) => SimulatorCli.GuardAsync(parse, async (console, token) =>
        {
            var loaded = ScenarioLoader.Load(parse.GetRequiredValue(scenario).FullName);
            var generator = new FeedGenerator(loaded, parse.GetValue(seed), parse.GetValue(topicRoot));
            var length = parse.GetValue(duration)!.Value;
            var file = parse.GetRequiredValue(output).FullName;
            var count = FeedFile.Write(file, generator.Generate(parse.GetValue(start) ?? loaded.Start, length).TakeWhile(_ => !token.IsCancellationRequested));
            token.ThrowIfCancellationRequested();
            await console.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"recorded {count:N0} messages ({Durations.Format(length)} of {loaded.Name}, seed {generator.Seed}) to {file}"));
            return SimulatorCli.Ok;
        }, ct));
        return (command,
        [
            "Telemetry.Simulator record --scenario simulator/scenarios/kukes-baseline.yaml --duration 8h --out baseline-8h.jsonl",
            "Telemetry.Simulator record --scenario simulator/scenarios/malformed-payloads.yaml --seed 3 --duration 2m --out bad.jsonl",
            "Telemetry.Simulator record --scenario simulator/scenarios/methane-leak.yaml --duration 5m --out leak.jsonl --start 2026-12-01T08:00:00Z",
        ]);
    }
}
