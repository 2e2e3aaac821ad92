using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using Telemetry.Simulator.Generation;

namespace Telemetry.Simulator.Recording;

/// <summary>
/// The recorded-feed format of SPEC §11: JSON lines <c>{"offset_ms":1500,"topic":"…","payload":"…"}</c>, the payload
/// as its exact text, or as <c>payload_b64</c> when it is not UTF-8. Output depends only on the messages, so equal
/// feeds give byte-identical files.
/// </summary>
internal static class FeedFile
{
    /// <returns>How many messages were written.</returns>
    public static long Write(Stream stream, IEnumerable<FeedMessage> feed)
    {
        ArgumentNullException.ThrowIfNull(feed);
        using var writer = new FeedFileWriter(stream);
        foreach (var m in feed)
        {
            writer.Write(m);
        }
        return writer.Count;
    }

    public static long Write(string path, IEnumerable<FeedMessage> feed)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        return Write(file, feed);
    }

    /// <summary>Reads a recorded feed lazily, line by line; a bad line stops with its line number.</summary>
    public static IEnumerable<FeedMessage> Read(string path)
    {
        using var reader = new StreamReader(path, Encoding.UTF8, false, 1 << 16);
        var lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0)
            {
                continue;
            }
            yield return ParseLine(line, path, lineNumber);
        }
    }

    internal static FeedMessage ParseLine(string line, string path, int lineNumber)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            var offset = root.GetProperty("offset_ms").GetInt64();
            var topic = root.GetProperty("topic").GetString() ?? throw new FormatException("topic is null");
            byte[] payload = root.TryGetProperty("payload", out var text)
                ? Encoding.UTF8.GetBytes(text.GetString() ?? "")
                : root.TryGetProperty("payload_b64", out var b64)
                    ? b64.GetBytesFromBase64()
                    : throw new FormatException("neither payload nor payload_b64");
            return new FeedMessage(offset, topic, payload);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"{path}:{lineNumber}: not a recorded message: {ex.Message}", ex);
        }
    }
}

/// <summary>Appends messages to a recorded feed, one line each (see <see cref="FeedFile"/>).</summary>
internal sealed class FeedFileWriter(Stream stream) : IDisposable
{
    // Relaxed escaping keeps payload text readable in the file ("ts" rather than \u0022ts\u0022); it is still exact.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private readonly Utf8JsonWriter _json = new(Stream.Null, WriterOptions);

    public long Count { get; private set; }

    public void Write(FeedMessage m)
    {
        _json.Reset(_buffer);
        _json.WriteStartObject();
        _json.WriteNumber("offset_ms"u8, m.OffsetMs);
        _json.WriteString("topic"u8, m.Topic);
        if (Utf8.IsValid(m.Payload))
        {
            _json.WriteString("payload"u8, Encoding.UTF8.GetString(m.Payload));
        }
        else
        {
            _json.WriteBase64String("payload_b64"u8, m.Payload);
        }
        _json.WriteEndObject();
        _json.Flush();
        _buffer.Write("\n"u8);
        stream.Write(_buffer.WrittenSpan);
        _buffer.ResetWrittenCount();
        Count++;
    }

    public void Dispose()
    {
        _json.Dispose();
        stream.Flush();
    }
}
