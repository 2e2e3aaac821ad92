using Telemetry.Contracts;

namespace Telemetry.Contracts.Tests;

public sealed class ReadingJsonTests
{
    [Fact]
    public void Serialize_ThenDecode_GivesTheSameReading()
    {
        var r = new Reading { TimestampMs = 1795859999123, Seq = 42 };
        r.Set(Field.CoPpm, 3.5);
        r.Set(Field.O2Pct, 20.9);
        r.Set(Field.BatteryV, 3.6);
        var bytes = ReadingJson.Serialize(SensorKind.Gas, [r]);

        var readings = new List<Reading>();
        var rejections = new List<Rejection>();
        Assert.True(new PayloadDecoder(DecodeLimits.Default).Decode(bytes, SensorKind.Gas, 1795860000000, readings, rejections));
        var back = Assert.Single(readings);
        Assert.Empty(rejections);
        Assert.Equal(r.TimestampMs, back.TimestampMs);
        Assert.Equal(42, back.Seq);
        Assert.Equal(r.Fields(), back.Fields());
    }

    [Fact]
    public void Rfc3339_Format_IsMillisecondUtc() =>
        Assert.Equal("2026-11-28T10:00:00.250Z", Rfc3339.Format(1795860000250));
}
