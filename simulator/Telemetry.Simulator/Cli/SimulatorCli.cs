using System.CommandLine;
using System.CommandLine.Help;
using Telemetry.Simulator.Publishing;
using Telemetry.Simulator.Scenarios;

namespace Telemetry.Simulator.Cli;

/// <summary>The command line of SPEC §11: <c>run</c>, <c>record</c>, <c>replay</c>, <c>load</c>.</summary>
internal static class SimulatorCli
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int BadInput = 2;

    /// <summary>Stopped by Ctrl+C or SIGTERM before it was done (the shell convention for SIGINT).</summary>
    public const int Cancelled = 130;

    public static RootCommand Build(TimeProvider time)
    {
        var root = new RootCommand("Tunnel telemetry simulator: a realistic sensor fleet, scripted incidents, recorded feeds and benchmark load over MQTT.");
        var examples = new Dictionary<Command, string[]>();
        foreach (var (command, lines) in new[] { RunCommand.Create(time), RecordCommand.Create(time), ReplayCommand.Create(time), LoadCommand.Create(time) })
        {
            root.Subcommands.Add(command);
            examples[command] = lines;
        }
        examples[root] =
        [
            "Telemetry.Simulator run --scenario simulator/scenarios/kukes-baseline.yaml",
            "Telemetry.Simulator record --scenario simulator/scenarios/methane-leak.yaml --duration 5m --out leak.jsonl",
            "Telemetry.Simulator replay leak.jsonl --speed 20",
            "Telemetry.Simulator load --readings 1000000 --sensors 500",
        ];
        var help = root.Options.OfType<HelpOption>().Single();
        help.Action = new ExamplesHelpAction((HelpAction)help.Action!, examples);
        return root;
    }

    /// <summary>Parses and runs a command line, writing to the given streams (tests pass string writers).</summary>
    public static Task<int> InvokeAsync(string[] args, TextWriter output, TextWriter error, TimeProvider time, CancellationToken ct = default)
    {
        var parsed = Build(time).Parse(args);
        // Signals are the caller's to turn into ct (see Program.cs).
        return parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null }, ct);
    }

    /// <summary>Runs a verb's body, turning expected failures into a one-line message and an exit code.</summary>
    internal static async Task<int> GuardAsync(ParseResult parse, Func<TextWriter, CancellationToken, Task<int>> body, CancellationToken ct)
    {
        var output = parse.InvocationConfiguration.Output;
        var error = parse.InvocationConfiguration.Error;
        try
        {
            return await body(output, ct);
        }
        catch (ScenarioException ex)
        {
            await error.WriteLineAsync("The scenario was refused:");
            foreach (var e in ex.Errors)
            {
                await error.WriteLineAsync("  " + e);
            }
            return BadInput;
        }
        catch (Exception ex) when (ex is FormatException or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync(ex.Message);
            return BadInput;
        }
        catch (BrokerUnavailableException ex)
        {
            await error.WriteLineAsync(ex.Message);
            return Failed;
        }
        catch (IOException ex)
        {
            // Writing the output failed (disk full, closed pipe): say so in one line, not a stack trace.
            await error.WriteLineAsync(ex.Message);
            return Failed;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await error.WriteLineAsync("cancelled before the end");
            return Cancelled;
        }
    }

    /// <summary>A terminal gets an overwritten progress line; anything else (a file, a pipe, a test) plain lines.</summary>
    internal static bool IsTerminal(TextWriter output) => ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
}
