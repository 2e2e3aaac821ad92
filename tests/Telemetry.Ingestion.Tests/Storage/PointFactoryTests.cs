using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;
using System.Text;
using Telemetry.Ingestion.Spool;
using Telemetry.Ingestion.Storage;

namespace Telemetry.Ingestion.Tests.Storage;

/// <summary>The cached reading and alert paths must write exactly the bytes PointData alone writes.</summary>
public sealed class PointFactoryTests
{
    private static readonly double[] Awkward =
        [0, -0.0, 1, -1, 0.1, 4.33, 20.2, 1e-300, double.Epsilon, 1e21, -1e21, 123456789.123456789, 1.0 / 3, double.MaxValue, double.NaN, double.PositiveInfinity];

    [Fact]
    public void Reading_RandomReadingsAndAddresses_ByteIdenticalToPointData()
    {
        var random = new Random(20261128);
        string[] segments = ["kukes", "t01", "gas-0007", "a b", "x,y", "k=v", "tab\there", "ünï", "back\\slash"];
        for (var i = 0; i < 5000; i++)
        {
            var address = new SensorAddress(segments[random.Next(segments.Length)], segments[random.Next(segments.Length)],
                SensorKinds.All[random.Next(3)], segments[random.Next(segments.Length)]);
            var reading = new Reading { TimestampMs = random.NextInt64(-100_000_000_000, 4_000_000_000_000) };
            for (var f = 0; f < FieldCatalogue.FieldCount; f++)
            {
                if (random.Next(3) == 0)
                {
                    reading.Set((Field)f, random.Next(4) == 0 ? Awkward[random.Next(Awkward.Length)] : (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-6, 9)));
                }
            }
            if (random.Next(2) == 0)
            {
                reading.Seq = random.NextInt64(0, long.MaxValue);
            }
            var expected = PointFactory.ReadingViaPointData(address, reading);
            Assert.Equal(expected, PointFactory.Reading(address, reading));
            Assert.Equal(expected, PointFactory.Reading(address, reading)); // from the caches
            // The hot path writes UTF-8 straight into the spool batch: the same bytes.
            var batch = new SpoolBatch(64);
            PointFactory.AddReading(batch, address, reading, extraTags: null);
            Assert.Equal(expected, Encoding.UTF8.GetString(batch.Payload));
        }
    }

    [Fact]
    public void SpoolBatch_FromABuilder_SameBytesAsFromAString_EvenAcrossChunks()
    {
        // A builder that grew holds several chunks; a surrogate pair (🚇) may straddle two of them.
        var sb = new StringBuilder(4);
        for (var i = 0; i < 200; i++)
        {
            sb.Append("ünï ").Append("🚇").Append(i);
        }
        Assert.True(CountChunks(sb) > 1);
        var fromBuilder = new SpoolBatch(16);
        var fromString = new SpoolBatch(16);
        fromBuilder.Add(sb, isReading: true);
        fromBuilder.Add(new StringBuilder("second"), isReading: false);
        fromString.Add(sb.ToString(), isReading: true);
        fromString.Add("second", isReading: false);
        Assert.Equal(fromString.Payload.ToArray(), fromBuilder.Payload.ToArray());
        Assert.Equal((2, 1), (fromBuilder.Lines, fromBuilder.Readings));

        static int CountChunks(StringBuilder b)
        {
            var n = 0;
            foreach (var _ in b.GetChunks())
            {
                n++;
            }
            return n;
        }
    }

    [Fact]
    public void Reading_WithRegistryTags_ByteIdenticalToPointData()
    {
        var address = new SensorAddress("kukes", "t03", SensorKind.Humidity, "hum-01");
        var reading = new Reading { TimestampMs = 1_764_324_000_123, Seq = 7 };
        reading.Set(Field.RhPct, 81.5);
        reading.Set(Field.TempC, 12.25);
        KeyValuePair<string, string>[] tags = [new("zone", "north portal"), new("a", "1")];
        Assert.Equal(PointFactory.ReadingViaPointData(address, reading, tags), PointFactory.Reading(address, reading, tags));
    }

    [Fact]
    public void Alert_RandomEvents_ByteIdenticalToPointData()
    {
        var random = new Random(20261129);
        string[] words = ["kukes", "t03", "gas-0007", "co-instant", "red", "a b", "x,y", "k=v", "tab\there", "ünï", "back\\slash", "quote\"d", "line\nbreak", ""];
        double?[] numbers = [null, 0, 30, 4.33, 1.0 / 3, -1e21, double.NaN, double.PositiveInfinity];
        var states = Enum.GetValues<AlertState>();
        for (var i = 0; i < 5000; i++)
        {
            string W() => words[random.Next(words.Length)];
            var e = new AlertEvent
            {
                AlertId = $"{W()}/{W()}",
                Site = W(),
                Tunnel = W(),
                Sensor = W(),
                Kind = W(),
                Rule = W(),
                Field = "co_ppm",
                State = states[random.Next(states.Length)],
                Level = W(),
                PreviousLevel = "normal",
                Value = numbers[random.Next(numbers.Length)],
                Threshold = numbers[random.Next(numbers.Length)],
                AcknowledgedBy = random.Next(3) == 0 ? W() : null,
                Ts = DateTimeOffset.FromUnixTimeMilliseconds(random.NextInt64(0, 4_000_000_000_000)),
                Message = $"{W()} {W()} \"{W()}\"",
            };
            var ns = random.NextInt64(0, long.MaxValue);
            var expected = PointFactory.AlertViaPointData(e, ns);
            Assert.Equal(expected, PointFactory.AlertLine(e, ns));
            Assert.Equal(expected, PointFactory.AlertLine(e, ns)); // from the caches
        }
    }
}
