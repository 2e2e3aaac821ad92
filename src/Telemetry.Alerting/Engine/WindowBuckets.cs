using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Telemetry.Alerting.Engine;

/// <summary>
/// A window's buckets in the state file, written as the serializer writes them (the same text, byte for byte), only
/// faster: a bucket's start and covered time are whole numbers of milliseconds, written as integers, where the default
/// found each one's shortest round-trip text as a double. Once a fleet has run for hours its windows are most of the
/// snapshot, and that search was most of the time spent writing it (BENCHMARKS.md, eleventh session).
/// </summary>
internal sealed class WindowBuckets : JsonConverter<List<double>>
{
    // Below this a whole double is written without an exponent, so as a long it is the same text.
    private const double PlainLimit = 1e15;

    public override List<double> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException($"window buckets: expected an array, not {reader.TokenType}");
        }
        var list = new List<double>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            list.Add(reader.GetDouble());
        }
        return list;
    }

    public override void Write(Utf8JsonWriter writer, List<double> value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        writer.WriteStartArray();
        foreach (var d in CollectionsMarshal.AsSpan(value))
        {
            if (Math.Abs(d) < PlainLimit && d == Math.Floor(d) && !(d == 0 && double.IsNegative(d)))
            {
                writer.WriteNumberValue((long)d);
            }
            else
            {
                writer.WriteNumberValue(d);
            }
        }
        writer.WriteEndArray();
    }
}
