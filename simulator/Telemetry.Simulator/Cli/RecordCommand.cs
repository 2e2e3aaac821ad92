using System.CommandLine;
using System.Globalization;
using Telemetry.Simulator.Generation;
using Telemetry.Simulator.Publishing;
using Telemetry.Simulator.Recording;
using Telemetry.Simulator.Scenarios;

namespace Telemetry.Simulator.Cli;

/// <summary><c>record</c>: write a scenario's feed to a file on a virtual clock, with no broker.</summary>
internal static class RecordCommand
{
    public static (Command, string[]) Create(TimeProvider time)
    {
        var scenario = new Option<FileInfo>("--scenario") { Description = "Scenario YAML file to generate the feed from", HelpName = "FILE" };
        var subscribe = new Option<string?>("--subscribe")
        {
            Description = "Instead of a scenario, record what the broker carries on this topic filter, in real time (e.g. 'tunnels/#')",
            HelpName = "FILTER",
        };
        var broker = CommonOptions.Broker();
        broker.Description = "MQTT broker to record from, with --subscribe";
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
        var command = new Command("record", "Record a scenario's feed to a file, on a virtual clock and without a broker (the same scenario, seed and start give a byte-identical file); or, with --subscribe, record what a broker carries.")
        {
            scenario, seed, duration, output, topicRoot, start, subscribe, broker,
        };
        command.Validators.Add(r =>
        {
            if ((r.GetResult(scenario) is null) == (r.GetResult(subscribe) is null))
            {
                r.AddError("record needs either --scenario FILE (generate) or --subscribe FILTER (capture from a broker)");
            }
        });
        command.SetAction((parse, ct) => SimulatorCli.GuardAsync(parse, async (console, token) =>
        {
            if (parse.GetValue(subscribe) is { } filter)
            {
                var target = parse.GetRequiredValue(output).FullName;
                var endpoint = parse.GetValue(broker)!;
                var window = parse.GetValue(duration)!.Value;
                await using var stream = new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
                var recorded = await BrokerRecorder.RecordAsync(endpoint, filter, window, stream, time,
                    () => console.WriteLine($"recording '{filter}' from {endpoint} for {Durations.Format(window)}"), token);
                await console.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"recorded {recorded:N0} messages from {endpoint} to {target}"));
                return SimulatorCli.Ok;
            }
            var loaded = ScenarioLoader.Load(parse.GetRequiredValue(scenario).FullName);
            var generator = new FeedGenerator(loaded, parse.GetValue(seed), parse.GetValue(topicRoot));
            var length = parse.GetValue(duration)!.Value;
            var file = parse.GetRequiredValue(output).FullName;
            var written = new Counter();
            long count;
            await using (ProgressReporter.Start(console, SimulatorCli.IsTerminal(console), written, time))
            {
                var feed = generator.Generate(parse.GetValue(start) ?? loaded.Start, length)
                    .TakeWhile(_ => !token.IsCancellationRequested)
                    .Select(m =>
                    {
                        written.Increment();
                        return m;
                    });
                // Writing is synchronous CPU and disk work; off the caller's thread so the progress line keeps ticking.
                count = await Task.Run(() => FeedFile.Write(file, feed), CancellationToken.None);
            }
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
            "Telemetry.Simulator record --subscribe 'tunnels/#' --broker 10.0.0.5:1883 --duration 1h --out site-capture.jsonl",
        ]);
    }
}
