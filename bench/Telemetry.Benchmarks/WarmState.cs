using System.Globalization;
using Telemetry.Alerting.Engine;
using Telemetry.Alerting.Registry;
using Telemetry.Alerting.Rules;
using Telemetry.Alerting.State;
using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;

namespace Telemetry.Benchmarks;

/// <summary>
/// The alert state of a fleet that has been running for hours: <c>sensors</c> gas sensors, each with a reading a minute
/// for the last nine hours (quiet air, no alert active), so every 15-minute and 8-hour window is full. What the service
/// snapshots every <c>SaveInterval</c> once it has been up a shift. <c>seed-state --sensors N --out FILE</c> writes it
/// as a state file, for bench/latency.sh's <c>SEED_SENSORS</c>.
/// </summary>
internal static class WarmState
{
    public static AlertEngineState Build(int sensors, long endMs, string site = "seed")
    {
        var engine = AlertEngine.Create(new AlertRules(), SensorRegistry.Empty, TimeProvider.System, TimeSpan.FromDays(1));
        var random = new Random(42);
        var events = new List<AlertEvent>();
        var addresses = Enumerable.Range(0, sensors)
            .Select(s => new SensorAddress(site, $"t{s / 100:D2}", SensorKind.Gas, $"gas-{s:D4}")).ToArray();
        const int Minutes = 9 * 60;
        for (var step = 0; step < Minutes; step++)
        {
            var ts = endMs - (Minutes - step) * 60_000L;
            for (var s = 0; s < sensors; s++)
            {
                var r = new Reading { TimestampMs = ts + s };
                r.Set(Field.CoPpm, Math.Round(random.NextDouble() * 10, 1));
                r.Set(Field.H2sPpm, Math.Round(random.NextDouble() * 2, 1));
                r.Set(Field.Co2Ppm, Math.Round(400 + random.NextDouble() * 500, 0));
                r.Set(Field.No2Ppm, Math.Round(random.NextDouble() * 0.2, 2));
                r.Set(Field.O2Pct, 20.9);
                r.Set(Field.Ch4LelPct, Math.Round(random.NextDouble() * 2, 1));
                engine.Evaluate(addresses[s], [r], events);
                events.Clear();
            }
        }
        return engine.State;
    }

    /// <summary><c>seed-state --sensors N --out FILE</c>: writes a warm state file whose sensors were last seen now.</summary>
    public static int Seed(string[] args)
    {
        var o = new Dictionary<string, string>();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            o[args[i]] = args[i + 1];
        }
        if (!o.TryGetValue("--out", out var path))
        {
            Console.Error.WriteLine("usage: seed-state --sensors N --out FILE");
            return 2;
        }
        var sensors = int.Parse(o.GetValueOrDefault("--sensors", "2000"), CultureInfo.InvariantCulture);
        var now = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
        var state = Build(sensors, now);
        foreach (var s in state.Sensors)
        {
            // Seen just now, so none goes stale during a run.
            s.LastSeenMs = now;
        }
        StateFile.Save(path, state, new Lock(), [], journalSeq: 0);
        Console.Error.WriteLine($"seed-state: {sensors} sensors, {new FileInfo(path).Length:N0} bytes -> {path}");
        return 0;
    }
}
