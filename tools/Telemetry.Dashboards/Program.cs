using Telemetry.Dashboards;

// dotnet run --project tools/Telemetry.Dashboards -- grafana/dashboards
if (args.Length != 1)
{
    await Console.Error.WriteLineAsync("usage: Telemetry.Dashboards OUTPUT_DIRECTORY   (the repository's grafana/dashboards)");
    return 2;
}
foreach (var path in DashboardCatalogue.WriteAll(args[0]))
{
    Console.WriteLine(path);
}
return 0;
