using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Telemetry.Contracts;
using Telemetry.Simulator.Scenarios;

namespace Telemetry.Simulator.Generation;

/// <summary>
/// Sends payloads that each break one rule of SPEC §5, on a real sensor's topic, so testers see every rejection
/// reason. Each message carries the reason it must produce (<see cref="FeedMessage.Expected"/>).
/// </summary>
internal sealed class MalformedEmitter : Emitter
{
    private readonly SensorModel _model;
    private readonly SensorSpec _sensor;
    private readonly string _topicRoot;
    private readonly Random _rng;
    private readonly List<(RejectionReason Reason, bool Binary)> _plan = [];
    private readonly long _everyMs;
    private int _next;

    public MalformedEmitter(MalformedIncident incident, Scenario scenario, int seed, string topicRoot, int order)
        : base(order)
    {
        _sensor = scenario.Sensors[incident.Sensor];
        _rng = new Random(Noise.Derive(seed, $"malformed/{_sensor.Address.Key}/{incident.Line}"));
        _model = new SensorModel(_sensor, scenario.Outside, _rng);
        _topicRoot = topicRoot;
        _everyMs = (long)incident.Every.TotalMilliseconds;
        for (var i = 0; i < incident.Repeat; i++)
        {
            foreach (var reason in incident.Reasons)
            {
                _plan.Add((reason, false));
                if (reason == RejectionReason.MalformedJson)
                {
                    _plan.Add((reason, true));
                }
            }
        }
        NextMs = _plan.Count == 0 ? long.MaxValue : (long)incident.At.TotalMilliseconds;
    }

    public override void Emit(long startMs, List<FeedMessage> output)
    {
        var offsetMs = NextMs;
        var (reason, binary) = _plan[_next++];
        NextMs = _next < _plan.Count ? NextMs + _everyMs : long.MaxValue;

        var nowMs = startMs + offsetMs;
        var reading = _model.Sample(nowMs, TimeSpan.FromMilliseconds(offsetMs), []);
        reading.TimestampMs = nowMs;
        // No seq: it is the sensor's own counter (SPEC §3, for counting gaps), and the out_of_range reading, whose other
        // values are stored, would put a number from another count among the sensor's.
        reading.Seq = null;
        var kind = _sensor.Kind;
        var topic = _sensor.Address.Topic(_topicRoot);
        var good = ReadingJson.Serialize(kind, [reading]);
        var payload = reason switch
        {
            // An unknown kind segment: a firmware that invented its own topic layout.
            RejectionReason.BadTopic => good,
            RejectionReason.MalformedJson when binary => Binary(),
            RejectionReason.MalformedJson => good[..(good.Length / 2)],
            RejectionReason.PayloadTooLarge => TooLarge(reading),
            RejectionReason.MissingValues => Edit(good, o => o.Remove("values")),
            RejectionReason.UnknownField => Edit(good, o => Rename(Values(o), FirstField.Name, FirstField.Name[..^1])),
            RejectionReason.InvalidValue => Edit(good, o => Values(o)[FirstField.Name] = "n/a"),
            RejectionReason.InvalidTimestamp => Edit(good, o => o["ts"] = DateTimeOffset.FromUnixTimeMilliseconds(nowMs)
                .ToString("dd/MM/yyyy HH:mm:ss", CultureInfo.InvariantCulture)),
            // A real-time clock reset to a wrong year, forwards or backwards.
            RejectionReason.FutureTimestamp => Edit(good, o => o["ts"] = Rfc3339.Format(nowMs + (365 * 86_400_000L))),
            RejectionReason.TooOld => Edit(good, o => o["ts"] = Rfc3339.Format(nowMs - (365 * 86_400_000L))),
            RejectionReason.OutOfRange => Edit(good, o => Values(o)[OutOfRangeField.Name] = OutOfRangeField.Max + 5),
            _ => throw new InvalidOperationException($"cannot provoke {reason.Name()}"),
        };
        if (reason == RejectionReason.BadTopic)
        {
            topic = $"{_topicRoot}/{_sensor.Address.Site}/{_sensor.Address.Tunnel}/vibration/{_sensor.Address.Sensor}";
        }
        output.Add(new FeedMessage(offsetMs, topic, payload, reason));
    }

    private FieldSpec FirstField => FieldCatalogue.ValuesFor(_sensor.Kind)[0];

    /// <summary>Out of range but otherwise a good reading: the rest of it must still be stored.</summary>
    private FieldSpec OutOfRangeField => _sensor.Kind switch
    {
        SensorKind.Gas => FieldCatalogue.O2Pct,
        SensorKind.Humidity => FieldCatalogue.RhPct,
        _ => FieldCatalogue.Microstrain,
    };

    private static JsonObject Values(JsonObject o) => (JsonObject)o["values"]!;

    private static void Rename(JsonObject o, string from, string to)
    {
        var v = o[from];
        o.Remove(from);
        o[to] = v?.DeepClone();
    }

    private static byte[] Edit(byte[] json, Action<JsonObject> edit)
    {
        var o = (JsonObject)JsonNode.Parse(json)!;
        edit(o);
        return Encoding.UTF8.GetBytes(o.ToJsonString());
    }

    /// <summary>Bytes that are not UTF-8 at all (0xFF never occurs in UTF-8): a binary frame on the wrong topic.</summary>
    private byte[] Binary()
    {
        var bytes = new byte[48];
        _rng.NextBytes(bytes);
        bytes[0] = 0xFF;
        bytes[1] = 0xFE;
        return bytes;
    }

    /// <summary>A valid array that is simply too big: a logger uploading far more than the service accepts at once.</summary>
    private byte[] TooLarge(Reading template)
    {
        var one = ReadingJson.Serialize(_sensor.Kind, [template]).Length;
        var count = (DecodeLimits.Default.MaxPayloadBytes / one) + 10;
        var readings = new List<Reading>(count);
        for (var i = 0; i < count; i++)
        {
            var r = new Reading { TimestampMs = template.TimestampMs - ((count - i) * 1000L), Seq = i };
            foreach (var (field, value) in template.Fields())
            {
                r.Set(field, value);
            }
            readings.Add(r);
        }
        return ReadingJson.Serialize(_sensor.Kind, readings, asArray: true);
    }
}
