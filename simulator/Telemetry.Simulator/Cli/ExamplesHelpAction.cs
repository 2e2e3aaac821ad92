using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace Telemetry.Simulator.Cli;

/// <summary>The standard help, followed by worked examples for the command asked about.</summary>
internal sealed class ExamplesHelpAction(HelpAction standard, IReadOnlyDictionary<Command, string[]> examples) : SynchronousCommandLineAction
{
    public override int Invoke(ParseResult parseResult)
    {
        var result = standard.Invoke(parseResult);
        if (examples.TryGetValue(parseResult.CommandResult.Command, out var lines))
        {
            var output = parseResult.InvocationConfiguration.Output;
            output.WriteLine("Examples:");
            foreach (var line in lines)
            {
                output.WriteLine("  " + line);
            }
            output.WriteLine();
        }
        return result;
    }
}
