using System.Buffers;
using System.Text.Json;

namespace Telemetry.Contracts;

/// <summary>Writes readings in the payload format of SPEC §3 (the simulator's encoder; the inverse of <see cref="PayloadDecoder"/>).</summary>
public static class ReadingJson
{
    /// <summary>Writes one reading object. <paramref name="kind"/> chooses which fields go inside <c>values</c>.</summary>
    public static void Write(Utf8JsonWriter writer, SensorKind kind, Reading reading, bool includeTimestamp = true)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(reading);
        writer.WriteStartObject();
        if (includeTimestamp)
        {
            writer.WriteString("ts"u8, Rfc3339.Format(reading.TimestampMs));
        }
        if (reading.Seq is { } seq)
        {
            writer.WriteNumber("seq"u8, seq);
        }
        writer.WriteStartObject("values"u8);
        foreach (var spec in FieldCatalogue.ValuesArray(kind))
        {
            if (reading.TryGet(spec.Id, out var v))
            {
                writer.WriteNumber(spec.Utf8Name, v);
            }
        }
        writer.WriteEndObject();
        foreach (var spec in FieldCatalogue.DeviceHealth)
        {
            if (reading.TryGet(spec.Id, out var v))
            {
                writer.WriteNumber(spec.Utf8Name, v);
            }
        }
        writer.WriteEndObject();
    }

    /// <summary>One reading, or several as an array (a logger's backlog), as UTF-8 bytes.</summary>
    public static byte[] Serialize(SensorKind kind, IReadOnlyList<Reading> readings, bool asArray = false)
    {
        ArgumentNullException.ThrowIfNull(readings);
        var buffer = new ArrayBufferWriter<byte>(128 * Math.Max(1, readings.Count));
        using (var writer = new Utf8JsonWriter(buffer))
        {
            if (asArray || readings.Count != 1)
            {
                writer.WriteStartArray();
                foreach (var r in readings)
                {
                    Write(writer, kind, r);
                }
                writer.WriteEndArray();
            }
            else
            {
                Write(writer, kind, readings[0]);
            }
        }
        return buffer.WrittenSpan.ToArray();
    }
}
