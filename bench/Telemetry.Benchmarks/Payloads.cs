using System.Globalization;
using System.Text;
using Telemetry.Contracts;

namespace Telemetry.Benchmarks;

/// <summary>The peers harness's load (gen-load.js): gas readings of 200 sensors, three fields, an RFC 3339 ts.</summary>
internal static class Payloads
{
    public static readonly SensorAddress Address = new("kukes", "t01", SensorKind.Gas, "gas-0007");

    /// <summary>The receive time the decoder checks the ts against (a few seconds after the readings).</summary>
    public static readonly long ReceivedAtMs = DateTimeOffset.Parse("2026-11-28T10:00:05Z", CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();

    public static byte[] One(int i) => Encoding.UTF8.GetBytes(OneText(i));

    public static byte[] Array(int count)
    {
        var sb = new StringBuilder("[");
        for (var i = 0; i < count; i++)
        {
            sb.Append(i == 0 ? "" : ",").Append(OneText(i));
        }
        return Encoding.UTF8.GetBytes(sb.Append(']').ToString());
    }

    private static string OneText(int i) => string.Create(CultureInfo.InvariantCulture,
        $"{{\"ts\":\"2026-11-28T10:00:00.{i % 1000:000}Z\",\"values\":{{\"ch4_lel_pct\":{4 + (i % 7) * 0.11:0.##},\"co_ppm\":{10 + (i % 13) * 0.1:0.#},\"o2_pct\":20.2}}}}");

    /// <summary>A group commit's worth of line protocol: <paramref name="lines"/> readings built by the service's PointFactory.</summary>
    public static byte[] LineProtocolBatch(int lines)
    {
        var decoder = new PayloadDecoder(DecodeLimits.Default);
        var readings = new List<Reading>();
        var rejections = new List<Rejection>();
        var sb = new StringBuilder();
        for (var i = 0; i < lines; i++)
        {
            readings.Clear();
            decoder.Decode(One(i), SensorKind.Gas, ReceivedAtMs, readings, rejections);
            var address = Address with { Sensor = $"gas-{i % 200:0000}" };
            sb.Append(i == 0 ? "" : "\n").Append(Ingestion.Storage.PointFactory.Reading(address, readings[0]));
        }
        if (rejections.Count > 0)
        {
            throw new InvalidOperationException($"sample payload rejected: {rejections[0].Detail}");
        }
        return Encoding.UTF8.GetBytes(sb.ToString());
    }
}
