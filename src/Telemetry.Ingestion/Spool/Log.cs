namespace Telemetry.Ingestion.Spool;

internal static partial class Log
{
    [LoggerMessage(3001, LogLevel.Error, "Spool full ({Bytes} of {Max} bytes, Telemetry:Spool:MaxBytes): no longer acknowledging MQTT messages; the broker holds them until InfluxDB takes the backlog")]
    public static partial void Full(ILogger logger, long bytes, long max);

    [LoggerMessage(3002, LogLevel.Warning, "Spool has room again ({Bytes} bytes): acknowledging resumed")]
    public static partial void SpaceAgain(ILogger logger, long bytes);

    [LoggerMessage(3003, LogLevel.Warning, "Spool: cut a torn record of {Bytes} bytes off the end of {Path} (a write interrupted by a crash); everything before offset {ValidLength} is intact")]
    public static partial void TornTail(ILogger logger, string path, long bytes, long validLength);

    [LoggerMessage(3004, LogLevel.Information, "Spool: {Readings} readings ({Bytes} bytes) waiting in {Directory} from before the restart")]
    public static partial void Recovered(ILogger logger, long readings, long bytes, string directory);

    [LoggerMessage(3005, LogLevel.Critical, "Spool: corrupt record in {Path} at offset {Offset} (checksum mismatch, not a torn tail): skipping the rest of that segment")]
    public static partial void CorruptRecord(ILogger logger, string path, long offset);
}
