using Microsoft.Extensions.Options;
using Telemetry.Ingestion;
using Telemetry.Ingestion.Configuration;
using Telemetry.Ingestion.Logging;

// Before the first socket: socket completions continue on the socket engine's threads, one thread wake-up less per
// receive (SocketEngine; DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0 in the environment turns it off).
SocketEngine.UseInlineCompletions();

// appsettings.json ships beside the binary: read it from there whichever directory the service is started in (a unit
// file, a script). Without this, `dotnet /opt/tt/Telemetry.Ingestion.dll` from elsewhere silently ran on framework
// defaults (a log line per HTTP request, port 5000). Relative paths in the settings (data/spool, …) still
// resolve against the working directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
// The log's lines, written by ZLogger (LineLog); RunAsync disposes the host, which writes what still waits.
LineLog.Use(builder.Logging);
if (ConfigurationErrors.InvalidUrl(builder.Configuration["urls"]) is { } badUrl)
{
    await Console.Error.WriteLineAsync($"Invalid configuration:\n  urls: '{badUrl}' is not an http(s)://host:port address (port 0-65535)");
    return 2;
}
builder.AddTelemetryIngestion();
var app = builder.Build();
app.MapTelemetryEndpoints();
try
{
    // A failed background service (the processor on a failing disk, say) stops the host, and .NET 10's host then
    // returns as after a clean stop: the exit code says it, so a supervisor (systemd on-failure, compose) restarts us.
    // (The same singletons the host starts; taken now, as RunAsync disposes the container.)
    var background = app.Services.GetServices<IHostedService>().OfType<BackgroundService>().ToList();
    await app.RunAsync();
    return background.Any(s => s.ExecuteTask is { IsFaulted: true }) ? 1 : 0;
}
catch (OptionsValidationException ex)
{
    // Invalid configuration stops start-up with the settings it names, not a stack trace.
    await Console.Error.WriteLineAsync("Invalid configuration:\n  " + string.Join("\n  ", ConfigurationErrors.Describe(ex)));
    return 2;
}
catch (InvalidOperationException ex) when (ex.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal))
{
    await Console.Error.WriteLineAsync($"Invalid configuration:\n  {ex.Message}");
    return 2;
}
catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException)
{
    // A busy port or an unwritable spool directory: say what, exit non-zero, no abort.
    await Console.Error.WriteLineAsync($"Start-up failed: {ex.Message}");
    return 1;
}
