using System.Buffers;
using System.Text;
using ZLogger;

namespace Telemetry.Ingestion.Logging;

/// <summary>
/// The service's log: one line per entry on standard output, in the console logger's single-line layout
/// (<c>2026-11-28T10:15:00.250Z info: Category[4000] message</c>), written by ZLogger. The console logger built each
/// line as a string, then a copy of it, then wrote it; in an alert storm (SPEC §7.4: one line per event) that was a third
/// of everything the service allocated in a drain. ZLogger formats into UTF-8 buffers and writes whatever waits in one
/// go, from its own task.
/// <para>
/// Lines still waiting when the process is killed are lost, as the console logger's were (the <c>alerts</c>
/// measurement is the record); a normal exit writes them. Past 10,000 waiting, a caller waits for the writer, so a
/// stalled reader of standard output holds the log back instead of growing memory.
/// </para>
/// </summary>
internal static class LineLog
{
    private static readonly string[] Levels = ["trce", "dbug", "info", "warn", "fail", "crit", "none"];

    public static void Use(ILoggingBuilder logging)
    {
        logging.ClearProviders();
        logging.AddZLoggerConsole(options =>
        {
            options.FullMode = BackgroundBufferFullMode.Block;
            options.BackgroundBufferCapacity = 10_000;
            options.UsePlainTextFormatter(formatter =>
            {
                formatter.SetPrefixFormatter(
                    $"{0:yyyy-MM-ddTHH:mm:ss.fffZ} {1}: {2}[{3}] ",
                    (in MessageTemplate template, in LogInfo info) =>
                        template.Format(info.Timestamp.Utc.UtcDateTime, Levels[(int)info.LogLevel], info.Category.Name, info.EventId.Id));
                formatter.SetExceptionFormatter(WriteException);
            });
        });
    }

    /// <summary>On the same line, as the console logger's single-line layout did: a line is one entry.</summary>
    private static void WriteException(IBufferWriter<byte> writer, Exception exception)
    {
        var text = " " + exception.ToString().ReplaceLineEndings(" ");
        var span = writer.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        writer.Advance(Encoding.UTF8.GetBytes(text, span));
    }
}
