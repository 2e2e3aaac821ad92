using Telemetry.Contracts;
using Telemetry.Simulator.Scenarios;

namespace Telemetry.Simulator.Generation;

/// <summary>Something that sends messages on a schedule. The generator merges all emitters in time order.</summary>
internal abstract class Emitter(int order)
{
    /// <summary>Breaks ties between emitters due at the same millisecond, so the merge is deterministic.</summary>
    public int Order { get; } = order;

    /// <summary>Offset (ms) of the next emission; <see cref="long.MaxValue"/> when done.</summary>
    public long NextMs { get; protected set; }

    /// <summary>Emits what is due at <see cref="NextMs"/> into <paramref name="output"/> and schedules the next emission.</summary>
    public abstract void Emit(long startMs, List<FeedMessage> output);
}

/// <summary>One sensor reporting every interval, with the faults scripted for it.</summary>
internal sealed class SensorEmitter : Emitter
{
    /// <summary>A backlog array stays well under the 256 KiB payload limit of SPEC §4.</summary>
    internal const int MaxBacklogPerMessage = 1000;

    private readonly SensorModel _model;
    private readonly Random _rng;
    private readonly string _topic;
    private readonly long _intervalMs;
    private readonly IReadOnlyList<PlumeIncident> _plumes;
    private readonly IReadOnlyList<SensorFault> _faults;
    private readonly List<Reading> _backlog = [];
    private Reading? _stuck;
    private long _seq;

    public SensorEmitter(SensorSpec sensor, Scenario scenario, int seed, string topicRoot)
        : base(sensor.Index)
    {
        _rng = new Random(Noise.Derive(seed, sensor.Address.Key + "/" + sensor.Kind.Name()));
        _model = new SensorModel(sensor, scenario.Outside, _rng);
        _topic = sensor.Address.Topic(topicRoot);
        _intervalMs = (long)sensor.Interval.TotalMilliseconds;
        _plumes = scenario.Incidents.OfType<PlumeIncident>().Where(p => p.Tunnel == sensor.Tunnel).ToList();
        _faults = scenario.Incidents.OfType<SensorFault>().Where(f => f.Sensors.Contains(sensor.Index)).ToList();
        // Sensors are switched on at random moments: spread their reports over the interval.
        NextMs = _rng.NextInt64(_intervalMs);
    }

    public override void Emit(long startMs, List<FeedMessage> output)
    {
        var offsetMs = NextMs;
        NextMs += _intervalMs;
        var offset = TimeSpan.FromMilliseconds(offsetMs);
        var kind = _model.Sensor.Kind;
        var reading = _model.Sample(startMs + offsetMs, offset, _plumes, ExtraStrain(offset));
        reading.TimestampMs = startMs + offsetMs;
        reading.Seq = _seq++;

        var stuck = false;
        var dropped = false;
        var buffering = false;
        foreach (var f in _faults)
        {
            if (!f.IsActive(offset))
            {
                continue;
            }
            switch (f.Kind)
            {
                case SensorFaultKind.Dropout:
                    dropped = true;
                    break;
                case SensorFaultKind.Stuck:
                    stuck = true;
                    break;
                case SensorFaultKind.Backlog:
                    buffering = true;
                    break;
                case SensorFaultKind.ClockSkew:
                    reading.TimestampMs += (long)f.Skew.TotalMilliseconds;
                    break;
                case SensorFaultKind.Spikes when f.Field is { } field && _rng.NextDouble() < f.Probability:
                    var spec = field.Spec();
                    reading.Set(field, Math.Round(Math.Clamp(reading.Get(field)!.Value + f.Magnitude, spec.Min, spec.Max), 2));
                    break;
            }
        }

        if (stuck)
        {
            _stuck ??= reading;
            foreach (var spec in FieldCatalogue.ValuesFor(kind))
            {
                reading.Set(spec.Id, _stuck.Get(spec.Id)!.Value);
            }
        }
        else
        {
            _stuck = null;
        }

        if (dropped)
        {
            return;
        }
        if (buffering)
        {
            _backlog.Add(reading);
            return;
        }
        if (_backlog.Count > 0)
        {
            // Back online: the logger sends what it kept, oldest first, with this reading last.
            _backlog.Add(reading);
            foreach (var chunk in _backlog.Chunk(MaxBacklogPerMessage))
            {
                output.Add(new FeedMessage(offsetMs, _topic, ReadingJson.Serialize(kind, chunk, asArray: true)));
            }
            _backlog.Clear();
            return;
        }
        output.Add(new FeedMessage(offsetMs, _topic, ReadingJson.Serialize(kind, [reading])));
    }

    private double ExtraStrain(TimeSpan offset)
    {
        double extra = 0;
        foreach (var f in _faults)
        {
            if (offset < f.At)
            {
                continue;
            }
            if (f.Kind == SensorFaultKind.StrainStep)
            {
                extra += f.Magnitude;
            }
            else if (f.Kind == SensorFaultKind.StrainCreep)
            {
                var until = f.Duration == TimeSpan.MaxValue || offset < f.At + f.Duration ? offset : f.At + f.Duration;
                extra += f.Magnitude * (until - f.At).TotalDays;
            }
        }
        return extra;
    }
}
