using Telemetry.Simulator.Scenarios;

namespace Telemetry.Simulator.Generation;

/// <summary>
/// Turns a scenario into a feed: every message of every sensor and incident, ordered by offset, on a virtual clock.
/// Pure and lazy — no broker, no wall clock, no sleeping — so the same scenario, seed and start give the same
/// bytes, and a 2-day feed streams without being held in memory.
/// </summary>
/// <param name="topicRoot">Overrides the scenario's topic root (tests use a unique root each).</param>
internal sealed class FeedGenerator(Scenario scenario, int seed, string? topicRoot = null)
{
    public Scenario Scenario { get; } = scenario;

    public int Seed { get; } = seed;

    public string TopicRoot { get; } = topicRoot ?? scenario.TopicRoot;

    /// <summary>The feed from <paramref name="start"/> for <paramref name="duration"/> (messages with offset &lt; duration).</summary>
    public IEnumerable<FeedMessage> Generate(DateTimeOffset start, TimeSpan duration)
    {
        var startMs = start.ToUnixTimeMilliseconds();
        var endMs = duration >= TimeSpan.FromDays(100_000) ? long.MaxValue : (long)duration.TotalMilliseconds;
        var queue = new PriorityQueue<Emitter, (long, int)>();
        foreach (var e in CreateEmitters())
        {
            queue.Enqueue(e, (e.NextMs, e.Order));
        }
        var batch = new List<FeedMessage>();
        while (queue.TryDequeue(out var emitter, out var due) && due.Item1 < endMs)
        {
            emitter.Emit(startMs, batch);
            foreach (var m in batch)
            {
                yield return m;
            }
            batch.Clear();
            if (emitter.NextMs != long.MaxValue)
            {
                queue.Enqueue(emitter, (emitter.NextMs, emitter.Order));
            }
        }
    }

    /// <summary>The feed starting where the clock stands now (for <c>run</c>: the clock is real).</summary>
    public IEnumerable<FeedMessage> Generate(TimeProvider clock, TimeSpan duration)
    {
        ArgumentNullException.ThrowIfNull(clock);
        return Generate(clock.GetUtcNow(), duration);
    }

    private List<Emitter> CreateEmitters()
    {
        var emitters = new List<Emitter>();
        foreach (var s in Scenario.Sensors)
        {
            emitters.Add(new SensorEmitter(s, Scenario, Seed, TopicRoot));
        }
        var order = Scenario.Sensors.Count;
        foreach (var m in Scenario.Incidents.OfType<MalformedIncident>())
        {
            emitters.Add(new MalformedEmitter(m, Scenario, Seed, TopicRoot, order++));
        }
        return emitters;
    }
}
