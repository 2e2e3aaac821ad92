using System.Buffers;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Telemetry.Ingestion.Logging;

/// <summary>
/// Standard output for the console log, writing lines in groups. .NET's console writer makes one <c>write(2)</c> per
/// log line; in an alert storm that is ~10,000 system calls a second for the log channel alone (SPEC §7.4: one line
/// per event). Here a line is handed to a background drain at once — no timer, so a lone line is out within
/// microseconds — and every line written while a drain is writing goes out with the next one, as one write.
/// <para>
/// Lines in the group being collected when the process is killed are lost, as the console logger's own queue is
/// (the <c>alerts</c> measurement is the record). A normal exit flushes. Past 256 K characters waiting, the writer
/// writes itself, so a stalled reader of standard output holds the logger back as before instead of growing memory.
/// </para>
/// </summary>
internal sealed class GroupedStdout : TextWriter
{
    private const int WriteItselfChars = 256 * 1024;

    private readonly Stream _out;
    private readonly Lock _gate = new();
    private readonly Lock _drainGate = new();
    private readonly ArrayBufferWriter<byte> _bytes = new(16 * 1024);
    private ArrayBufferWriter<char> _pending = new(16 * 1024);
    private ArrayBufferWriter<char> _spare = new(16 * 1024);
    private bool _scheduled;

    public GroupedStdout(Stream output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _out = output;
    }

    public override Encoding Encoding { get; } = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Routes <see cref="Console.Out"/> (and so the console logger, created after this) through a grouped writer.</summary>
    /// <remarks>
    /// It writes to file descriptor 1 itself, not through <see cref="Console.OpenStandardOutput()"/>: on Unix that
    /// stream locks <see cref="Console.Out"/> for every write, and the console logger holds that lock while it hands a
    /// line to <see cref="Write(ReadOnlySpan{char})"/> — a writer that must wait for the drain would deadlock with it.
    /// </remarks>
    public static void Install()
    {
        FileStream stdout;
        try
        {
            stdout = new FileStream(new SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0);
        }
        catch (Exception ex) when (ex is ArgumentException or IOException or UnauthorizedAccessException)
        {
            return; // no usable standard output: leave the console as it is
        }
        var writer = new GroupedStdout(stdout);
        Console.SetOut(writer);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => writer.Flush();
    }

    public override void Write(char value) => Write(new ReadOnlySpan<char>(in value));

    public override void Write(string? value) => Write(value.AsSpan());

    public override void Write(char[] buffer, int index, int count) => Write(buffer.AsSpan(index, count));

    public override void Write(ReadOnlySpan<char> buffer)
    {
        if (buffer.IsEmpty)
        {
            return;
        }
        bool schedule, writeItself;
        lock (_gate)
        {
            _pending.Write(buffer);
            writeItself = _pending.WrittenCount >= WriteItselfChars;
            schedule = !_scheduled && !writeItself;
            _scheduled |= schedule;
        }
        if (writeItself)
        {
            Drain();
        }
        else if (schedule)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static w => w.Drain(), this, preferLocal: false);
        }
    }

    public override void Flush() => Drain();

    /// <summary>Writes what is pending, group by group, until nothing is.</summary>
    private void Drain()
    {
        lock (_drainGate)
        {
            while (true)
            {
                ArrayBufferWriter<char> group;
                lock (_gate)
                {
                    if (_pending.WrittenCount == 0)
                    {
                        _scheduled = false;
                        return;
                    }
                    group = _pending;
                    _pending = _spare;
                    _spare = group;
                }
                var chars = group.WrittenSpan;
                var span = _bytes.GetSpan(Encoding.GetMaxByteCount(chars.Length));
                var n = Encoding.GetBytes(chars, span);
                try
                {
                    _out.Write(span[..n]);
                    _out.Flush();
                }
                catch (IOException)
                {
                    // Standard output is gone (a closed pipe): the log cannot be written, the service goes on.
                }
                group.ResetWrittenCount();
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Drain();
        }
        base.Dispose(disposing);
    }
}
