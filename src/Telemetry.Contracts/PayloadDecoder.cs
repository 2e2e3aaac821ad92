using System.Text.Json;
using System.Text.Unicode;

namespace Telemetry.Contracts;

/// <summary>
/// Decodes and validates one MQTT payload exactly as SPEC §3–5 say. Never throws on bad input: every problem is a
/// <see cref="Rejection"/>. Readings and rejections are appended to caller-owned lists so the hot path allocates
/// nothing per message but the readings themselves.
/// </summary>
public sealed class PayloadDecoder(DecodeLimits limits)
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 16 };

    public DecodeLimits Limits { get; } = limits;

    /// <summary>
    /// Decodes <paramref name="payload"/> from a sensor of <paramref name="kind"/> received at <paramref name="receivedAtMs"/>.
    /// Returns false when the whole message is rejected: then exactly one rejection was appended and no reading.
    /// </summary>
    public bool Decode(ReadOnlySpan<byte> payload, SensorKind kind, long receivedAtMs, List<Reading> readings, List<Rejection> rejections)
    {
        ArgumentNullException.ThrowIfNull(readings);
        ArgumentNullException.ThrowIfNull(rejections);
        if (payload.Length > Limits.MaxPayloadBytes)
        {
            rejections.Add(new(RejectionReason.PayloadTooLarge, "", $"payload is {payload.Length} bytes, the limit is {Limits.MaxPayloadBytes}"));
            return false;
        }
        if (!Utf8.IsValid(payload))
        {
            rejections.Add(new(RejectionReason.MalformedJson, "", "payload is not valid UTF-8"));
            return false;
        }
        // A UTF-8 byte order mark (some Windows gateways write one): RFC 8259 §8.1 lets a parser ignore it.
        if (payload.StartsWith("\uFEFF"u8))
        {
            payload = payload[3..];
        }

        var firstReading = readings.Count;
        var firstRejection = rejections.Count;
        var window = new Window(receivedAtMs, receivedAtMs + (long)Limits.MaxFuture.TotalMilliseconds, receivedAtMs - (long)Limits.MaxAge.TotalMilliseconds);
        string? messageError;
        var tooLarge = false;
        try
        {
            var reader = new Utf8JsonReader(payload, ReaderOptions);
            messageError = DecodeRoot(ref reader, kind, window, readings, rejections, ref tooLarge);
        }
        catch (JsonException ex)
        {
            // Utf8JsonReader reports malformed JSON only by throwing; this is the one exception on a bad-input path.
            messageError = $"not JSON: {ex.Message}";
        }

        if (messageError is null)
        {
            return true;
        }
        readings.RemoveRange(firstReading, readings.Count - firstReading);
        rejections.RemoveRange(firstRejection, rejections.Count - firstRejection);
        rejections.Add(new(tooLarge ? RejectionReason.PayloadTooLarge : RejectionReason.MalformedJson, "", messageError));
        return false;
    }

    private string? DecodeRoot(ref Utf8JsonReader reader, SensorKind kind, in Window window, List<Reading> readings, List<Rejection> rejections, ref bool tooLarge)
    {
        if (!reader.Read())
        {
            return "payload is empty";
        }
        if (reader.TokenType == JsonTokenType.StartObject)
        {
            var receiptTaken = -1;
            DecodeReading(ref reader, kind, window, -1, readings, rejections, ref receiptTaken);
        }
        else if (reader.TokenType == JsonTokenType.StartArray)
        {
            var index = 0;
            var receiptTaken = -1;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    return $"array element {index} is not an object";
                }
                if (index == Limits.MaxReadings)
                {
                    tooLarge = true;
                    return $"more than {Limits.MaxReadings} readings in one array";
                }
                DecodeReading(ref reader, kind, window, index, readings, rejections, ref receiptTaken);
                index++;
            }
            if (index == 0)
            {
                return "empty array: no readings";
            }
        }
        else
        {
            return "payload is not an object or an array of objects";
        }
        // A second top-level value makes Read() throw; whitespace after the root is fine.
        return reader.Read() ? "unexpected content after the payload" : null;
    }

    // Doubles hold every integer up to 2^53 exactly.
    private const double MaxExactInteger = 9007199254740992;

    // receiptTaken: the index of the reading of this message already stored at its receive time (no ts), or -1. A second
    // one would be the same point (SPEC §6: measurement, tags and time) and overwrite it in InfluxDB, a silent loss.
    private static void DecodeReading(ref Utf8JsonReader reader, SensorKind kind, in Window window, int index, List<Reading> readings, List<Rejection> rejections, ref int receiptTaken)
    {
        var reading = new Reading();
        var firstRejection = rejections.Count;
        Rejection? failure = null;
        var sawValues = false;
        var valueCount = 0;
        var tsState = TimestampState.Absent;
        long tsMs = 0;

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("values"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    failure ??= new(RejectionReason.MissingValues, "values", "values is not an object", index);
                    reader.Skip();
                    continue;
                }
                sawValues = true;
                valueCount += DecodeValues(ref reader, kind, reading, index, rejections, ref failure);
            }
            else if (reader.ValueTextEquals("ts"u8))
            {
                reader.Read();
                tsState = ReadTimestamp(ref reader, out tsMs);
            }
            else if (reader.ValueTextEquals("seq"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var seq) && seq >= 0)
                {
                    reading.Seq = seq;
                }
                else if (reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out var whole) && whole >= 0 && whole <= MaxExactInteger
                    && Math.Floor(whole) == whole)
                {
                    // 5.0 or 1e3 is the integer a float-only encoder (JavaScript, some gateways) writes.
                    reading.Seq = (long)whole;
                }
                else
                {
                    failure ??= new(RejectionReason.InvalidValue, "seq", "seq must be a non-negative integer", index);
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("battery_v"u8))
            {
                reader.Read();
                ReadField(ref reader, FieldCatalogue.BatteryV, reading, index, rejections, ref failure);
            }
            else if (reader.ValueTextEquals("rssi_dbm"u8))
            {
                reader.Read();
                ReadField(ref reader, FieldCatalogue.RssiDbm, reading, index, rejections, ref failure);
            }
            else
            {
                // Unknown top-level members are ignored (forward compatibility); unknown *fields* inside values are not.
                reader.Read();
                reader.Skip();
            }
        }

        if (failure is null)
        {
            switch (tsState)
            {
                case TimestampState.Absent when receiptTaken >= 0:
                    failure = new(RejectionReason.InvalidTimestamp, "ts", $"no ts, and the message's receive time is reading {receiptTaken}'s already: readings of one array need a ts each", index);
                    break;
                case TimestampState.Absent:
                    reading.TimestampMs = window.NowMs;
                    reading.TimestampFromReceipt = true;
                    break;
                case TimestampState.Invalid:
                    failure = new(RejectionReason.InvalidTimestamp, "ts", "ts must be RFC 3339 with an offset, or integer Unix milliseconds", index);
                    break;
                default:
                    if (tsMs > window.LatestMs)
                    {
                        failure = new(RejectionReason.FutureTimestamp, "ts", $"ts {Describe(tsMs)} is more than the allowed skew ahead of the service clock {Rfc3339.Format(window.NowMs)}", index);
                    }
                    else if (tsMs < window.EarliestMs)
                    {
                        failure = new(RejectionReason.TooOld, "ts", $"ts {Describe(tsMs)} is older than the allowed age before {Rfc3339.Format(window.NowMs)}", index);
                    }
                    reading.TimestampMs = tsMs;
                    break;
            }
        }
        if (failure is null && !sawValues)
        {
            failure = new(RejectionReason.MissingValues, "values", "reading has no values object", index);
        }
        if (failure is null && valueCount == 0)
        {
            failure = new(RejectionReason.MissingValues, "values", "values is empty", index);
        }

        if (failure is { } f)
        {
            // A rejected reading is reported once, with its first problem; its field-level notes go with it.
            rejections.RemoveRange(firstRejection, rejections.Count - firstRejection);
            rejections.Add(f);
            return;
        }
        if (kind == SensorKind.Humidity && reading.TryGet(Field.RhPct, out var rh) && reading.TryGet(Field.TempC, out var t)
            && DewPoint.Celsius(rh, t) is { } dew)
        {
            reading.Set(Field.DewPointC, dew);
        }
        // Every value out of range leaves nothing to store; the field rejections account for it.
        if (reading.HasAnyField)
        {
            readings.Add(reading);
            if (reading.TimestampFromReceipt)
            {
                receiptTaken = index;
            }
        }
    }

    /// <returns>How many members the values object had.</returns>
    private static int DecodeValues(ref Utf8JsonReader reader, SensorKind kind, Reading reading, int index, List<Rejection> rejections, ref Rejection? failure)
    {
        var specs = FieldCatalogue.ValuesArray(kind);
        var count = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            count++;
            FieldSpec? spec = null;
            foreach (var candidate in specs)
            {
                if (reader.ValueTextEquals(candidate.Utf8Name))
                {
                    spec = candidate;
                    break;
                }
            }
            if (spec is null)
            {
                failure ??= new(RejectionReason.UnknownField, reader.GetString() ?? "", $"not a {kind.Name()} field", index);
                reader.Read();
                reader.Skip();
                continue;
            }
            reader.Read();
            ReadField(ref reader, spec, reading, index, rejections, ref failure);
        }
        return count;
    }

    private static void ReadField(ref Utf8JsonReader reader, FieldSpec spec, Reading reading, int index, List<Rejection> rejections, ref Rejection? failure)
    {
        if (reader.TokenType != JsonTokenType.Number)
        {
            failure ??= new(RejectionReason.InvalidValue, spec.Name, $"{spec.Name} is not a JSON number", index);
            reader.Skip();
            return;
        }
        if (!reader.TryGetDouble(out var value) || !double.IsFinite(value))
        {
            failure ??= new(RejectionReason.InvalidValue, spec.Name, $"{spec.Name} is not a finite number", index);
            return;
        }
        if (reading.Has(spec.Id))
        {
            failure ??= new(RejectionReason.InvalidValue, spec.Name, $"{spec.Name} is given twice", index);
            return;
        }
        if (!spec.InRange(value))
        {
            rejections.Add(new(RejectionReason.OutOfRange, spec.Name, $"{spec.Name} = {value} is outside {spec.Min} … {spec.Max} {spec.Unit}", index));
            return;
        }
        reading.Set(spec.Id, value);
    }

    private static TimestampState ReadTimestamp(ref Utf8JsonReader reader, out long unixMs)
    {
        unixMs = 0;
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                return reader.TryGetInt64(out unixMs) ? TimestampState.Valid : TimestampState.Invalid;
            case JsonTokenType.String:
                if (reader.ValueIsEscaped || reader.HasValueSequence)
                {
                    Span<byte> buffer = stackalloc byte[64];
                    if (reader.ValueSpan.Length > buffer.Length)
                    {
                        return TimestampState.Invalid;
                    }
                    var written = reader.CopyString(buffer);
                    return Rfc3339.TryParseUnixMs(buffer[..written], out unixMs) ? TimestampState.Valid : TimestampState.Invalid;
                }
                return Rfc3339.TryParseUnixMs(reader.ValueSpan, out unixMs) ? TimestampState.Valid : TimestampState.Invalid;
            default:
                reader.Skip();
                return TimestampState.Invalid;
        }
    }

    private static string Describe(long unixMs) =>
        unixMs is > -62135596800000 and < 253402300800000 ? Rfc3339.Format(unixMs) : unixMs.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private enum TimestampState : byte
    {
        Absent,
        Valid,
        Invalid,
    }

    private readonly record struct Window(long NowMs, long LatestMs, long EarliestMs);
}
