using Telemetry.Simulator.Cli;

return await SimulatorCli.InvokeAsync(args, Console.Out, Console.Error, TimeProvider.System);
