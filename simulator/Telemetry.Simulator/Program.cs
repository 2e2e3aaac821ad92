using System.Runtime.InteropServices;
using Telemetry.Simulator.Cli;

// Ctrl+C and SIGTERM cancel the running verb, which then finishes its own way (an open-ended run flushes and
// prints its summary); System.CommandLine's own handler would return 130 without waiting for that.
using var stop = new CancellationTokenSource();
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
return await SimulatorCli.InvokeAsync(args, Console.Out, Console.Error, TimeProvider.System, stop.Token);

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}
