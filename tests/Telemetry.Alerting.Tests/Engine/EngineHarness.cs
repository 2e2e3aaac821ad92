using Microsoft.Extensions.Time.Testing;
using Telemetry.Alerting.Engine;
using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;

namespace Telemetry.Alerting.Tests.Engine;

/// <summary>An engine on a fake clock, with readings written as offsets from a fixed start.</summary>
internal sealed class EngineHarness
{
    public static readonly DateTimeOffset Start = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
    public static readonly SensorAddress Gas = new("kukes", "t03", SensorKind.Gas, "gas-0007");
    public static readonly SensorAddress Humidity = new("kukes", "t03", SensorKind.Humidity, "hum-0001");
    public static readonly SensorAddress Strain = new("kukes", "t03", SensorKind.Strain, "str-0001");

    private readonly Func<SensorAddress, SensorProfile> _profiles;

    public EngineHarness(IEnumerable<RuleDefinition>? rules = null, double baseline = 0, TimeSpan? maxHold = null, FakeTimeProvider? time = null, AlertEngineState? state = null)
    {
        var list = (rules ?? DefaultRules.All).ToList();
        Time = time ?? new FakeTimeProvider(Start);
        MaxHold = maxHold ?? TimeSpan.FromMinutes(15);
        _profiles = a => new SensorProfile(list.Where(r => r.Kind == a.Kind.Name() || r.Kind == "any").ToList(), baseline);
        Engine = new AlertEngine(_profiles, Time, MaxHold, state);
    }

    public FakeTimeProvider Time { get; }
    public TimeSpan MaxHold { get; }
    public AlertEngine Engine { get; private set; }
    public List<AlertEvent> Events { get; } = [];

    public static RuleDefinition Rule(string id) => DefaultRules.All.Single(r => r.Id == id);

    public static Reading Reading(TimeSpan at, Field field, double value)
    {
        var r = new Reading { TimestampMs = (Start + at).ToUnixTimeMilliseconds() };
        r.Set(field, value);
        return r;
    }

    /// <summary>One live reading: the clock moves to its time (never back), then the engine evaluates it.</summary>
    public List<AlertEvent> At(TimeSpan at, Field field, double value, SensorAddress? sensor = null)
    {
        if (Start + at > Time.GetUtcNow())
        {
            Time.SetUtcNow(Start + at);
        }
        return Evaluate(sensor ?? Gas, Reading(at, field, value));
    }

    public List<AlertEvent> Evaluate(SensorAddress sensor, params Reading[] readings)
    {
        var found = new List<AlertEvent>();
        Engine.Evaluate(sensor, readings, found);
        Events.AddRange(found);
        return found;
    }

    public List<AlertEvent> TickAt(TimeSpan at)
    {
        Time.SetUtcNow(Start + at);
        var found = new List<AlertEvent>();
        Engine.Tick(found);
        Events.AddRange(found);
        return found;
    }

    /// <summary>A new engine restored from this one's snapshot, as after a restart.</summary>
    public void Restart()
    {
        var bytes = Engine.SerializeState();
        var state = System.Text.Json.JsonSerializer.Deserialize<AlertEngineState>(bytes, StateJson.Options)!;
        Engine = new AlertEngine(_profiles, Time, MaxHold, state);
    }

    public static string Describe(AlertEvent e) =>
        $"{e.Rule}:{e.State.ToString().ToLowerInvariant()}:{e.Level}{(e.Backlog ? ":backlog" : "")}{(e.Repeat ? ":repeat" : "")}";

    public IEnumerable<string> Of(string rule) => Events.Where(e => e.Rule == rule).Select(Describe);
}
