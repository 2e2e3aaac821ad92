using System.Buffers;
using System.Text;

namespace Telemetry.Ingestion.Spool;

/// <summary>
/// What one group commit appends to the spool: line-protocol lines (readings, rejections, stats) ready to forward,
/// with the counts the metrics need. Reused by its owner between commits to avoid garbage.
/// </summary>
internal sealed class SpoolBatch(int initialCapacity = 256 * 1024)
{
    private readonly ArrayBufferWriter<byte> _buffer = new(initialCapacity);

    public int Lines { get; private set; }
    public int Readings { get; private set; }
    public long CreatedMs { get; set; }

    public int Bytes => _buffer.WrittenCount;
    public ReadOnlySpan<byte> Payload => _buffer.WrittenSpan;

    /// <summary>Adds one line-protocol line; <paramref name="isReading"/> counts it as a sensor reading.</summary>
    public void Add(string line, bool isReading)
    {
        if (line.Length == 0)
        {
            return;
        }
        Separate();
        _buffer.Advance(Encoding.UTF8.GetBytes(line, _buffer.GetSpan(Encoding.UTF8.GetMaxByteCount(line.Length))));
        Count(isReading);
    }

    /// <summary>
    /// <see cref="Add(string, bool)"/> from a builder, encoded chunk by chunk straight into the batch: the hot paths
    /// (a reading, an alert row) build their line in a reused builder, and a string per line was garbage.
    /// </summary>
    public void Add(StringBuilder line, bool isReading)
    {
        if (line.Length == 0)
        {
            return;
        }
        Separate();
        var encoder = t_encoder ??= Encoding.UTF8.GetEncoder();
        var remaining = line.Length;
        foreach (var chunk in line.GetChunks())
        {
            remaining -= chunk.Length;
            // flush only at the end: a surrogate pair split across two chunks is still encoded as one character.
            var span = _buffer.GetSpan(Encoding.UTF8.GetMaxByteCount(chunk.Length));
            _buffer.Advance(encoder.GetBytes(chunk.Span, span, flush: remaining == 0));
        }
        Count(isReading);
    }

    private void Separate()
    {
        if (Lines > 0)
        {
            _buffer.GetSpan(1)[0] = (byte)'\n';
            _buffer.Advance(1);
        }
    }

    private void Count(bool isReading)
    {
        Lines++;
        if (isReading)
        {
            Readings++;
        }
    }

    [ThreadStatic] private static Encoder? t_encoder;

    public void Clear()
    {
        _buffer.ResetWrittenCount();
        Lines = 0;
        Readings = 0;
    }
}
