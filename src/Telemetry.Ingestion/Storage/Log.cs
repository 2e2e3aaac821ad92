namespace Telemetry.Ingestion.Storage;

internal static partial class Log
{
    [LoggerMessage(2001, LogLevel.Warning, "Write to {Target} failed ({Detail}); attempt {Attempt}, retrying in {Delay}. Readings stay in the spool")]
    public static partial void Transient(ILogger logger, string target, string detail, int attempt, TimeSpan delay);

    [LoggerMessage(2002, LogLevel.Error, "{Target} refused our credentials ({Detail}): check Telemetry:Influx:Token or Username/Password. Readings stay in the spool; retrying every {Delay}")]
    public static partial void AuthFailed(ILogger logger, string target, string detail, TimeSpan delay);

    [LoggerMessage(2004, LogLevel.Critical, "InfluxDB refused the write_rejected row itself ({Detail}); the point was: {Line}")]
    public static partial void QuarantineRefused(ILogger logger, string detail, string line);

    [LoggerMessage(2005, LogLevel.Information, "Forwarding the spool to {Target}")]
    public static partial void Forwarding(ILogger logger, string target);

    [LoggerMessage(2006, LogLevel.Warning, "No Telemetry:Influx:Url configured: readings are kept in the spool ({Pending} waiting) and forwarded once a URL is configured and the service restarted")]
    public static partial void StoreAndForward(ILogger logger, long pending);

    [LoggerMessage(2007, LogLevel.Warning, "Cannot prepare {Target}: {Detail}; retrying in {Delay}")]
    public static partial void PrepareFailed(ILogger logger, string target, string detail, TimeSpan delay);

    [LoggerMessage(2008, LogLevel.Information, "Shutdown: spool forwarded to InfluxDB")]
    public static partial void Drained(ILogger logger);

    [LoggerMessage(2009, LogLevel.Warning, "Shutdown: {Pending} readings stay in the spool after {Timeout} (Telemetry:Ingestion:ShutdownTimeout); they are forwarded after the next start")]
    public static partial void NotDrained(ILogger logger, long pending, TimeSpan timeout);

    [LoggerMessage(2010, LogLevel.Error, "Forwarder error; retrying")]
    public static partial void ForwarderError(ILogger logger, Exception exception);
}
