using System.CommandLine;
using System.Globalization;
using Telemetry.Simulator.Publishing;
using Telemetry.Simulator.Scenarios;

namespace Telemetry.Simulator.Cli;

/// <summary><c>load</c>: publish N readings over M sensors as fast as the broker acknowledges them, for benchmarks.</summary>
internal static class LoadCommand
{
    public static (Command, string[]) Create(TimeProvider time)
    {
        var readings = new Option<long>("--readings") { Description = "Readings to publish (one per message)", HelpName = "N", Required = true };
        var sensors = new Option<int>("--sensors") { Description = "Sensors to spread them over (humidity, gas and strain in turn)", HelpName = "M", Required = true };
        var rate = new Option<double?>("--rate") { Description = "Readings per second overall (default: as fast as the broker acknowledges)", HelpName = "R" };
        var topicRoot = CommonOptions.TopicRoot();
        var publishing = new PublishOptionSet();
        var seed = CommonOptions.Seed();
        readings.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<long>() < 1)
            {
                r.AddError("--readings must be at least 1");
            }
        });
        sensors.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 1)
            {
                r.AddError("--sensors must be at least 1");
            }
        });
        rate.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double?>() is { } x && !(x > 0))
            {
                r.AddError("--rate must be positive");
            }
        });
        var command = new Command("load", "Publish N readings over M sensors at QoS 1, pipelined over several connections, as fast as the broker acknowledges (or at --rate), and print the readings per second achieved.")
        {
            readings, sensors, rate, topicRoot, seed,
        };
        publishing.AddTo(command);
        command.SetAction((parse, ct) => SimulatorCli.GuardAsync(parse, async (output, token) =>
        {
            var options = new LoadOptions(parse.GetValue(readings), parse.GetValue(sensors), parse.GetValue(rate),
                parse.GetValue(topicRoot) ?? Scenario.DefaultTopicRoot, parse.GetValue(seed));
            var endpoint = parse.GetValue(publishing.Broker)!;
            await using var publisher = await publishing.ConnectAsync(parse, token, "tunnel-sim-load");
            var sent = new Counter();
            LoadResult result;
            await using (ProgressReporter.Start(output, SimulatorCli.IsTerminal(output), sent, time))
            {
                result = await LoadGenerator.RunAsync(publisher, options, time, sent, token);
            }
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"published {result.Readings:N0} readings over {options.Sensors:N0} sensors in {result.Elapsed.TotalSeconds:0.000} s: {result.PerSecond:N0} readings/s ({publisher.ConnectionCount} connections x {publisher.InFlightPerConnection} in flight, QoS 1, broker {endpoint})"));
            return SimulatorCli.Ok;
        }, ct));
        return (command,
        [
            "Telemetry.Simulator load --readings 1000000 --sensors 500",
            "Telemetry.Simulator load --readings 60000 --sensors 200 --rate 1000 --broker 127.0.0.1:1883",
            "Telemetry.Simulator load --readings 200000 --sensors 100 --connections 8 --inflight 100 --topic-root bench",
        ]);
    }
}
