using System.Globalization;
using System.Text;
using Telemetry.Contracts;

namespace Telemetry.Contracts.Tests;

public sealed class PayloadDecoderTests
{
    // 2026-11-28T10:00:00Z, the service clock in these tests.
    private const long Now = 1795860000000;
    private readonly PayloadDecoder _decoder = new(DecodeLimits.Default);

    private (List<Reading> Readings, List<Rejection> Rejections, bool Ok) Decode(string json, SensorKind kind = SensorKind.Gas) =>
        Decode(Encoding.UTF8.GetBytes(json), kind);

    private (List<Reading> Readings, List<Rejection> Rejections, bool Ok) Decode(byte[] payload, SensorKind kind = SensorKind.Gas)
    {
        var readings = new List<Reading>();
        var rejections = new List<Rejection>();
        var ok = _decoder.Decode(payload, kind, Now, readings, rejections);
        return (readings, rejections, ok);
    }

    [Fact]
    public void Decode_SingleGasReading_KeepsEveryValueTimeAndSeq()
    {
        var (readings, rejections, ok) = Decode("""
            { "ts": "2026-11-28T10:15:00.250Z", "seq": 1842,
              "values": { "co_ppm": 3.0, "o2_pct": 20.9, "ch4_lel_pct": 0.4 },
              "battery_v": 3.61, "rssi_dbm": -87 }
            """.Replace("10:15", "09:55", StringComparison.Ordinal));

        Assert.True(ok);
        Assert.Empty(rejections);
        var r = Assert.Single(readings);
        Assert.Equal(Now - (5 * 60_000) + 250, r.TimestampMs);
        Assert.Equal(1842, r.Seq);
        Assert.Equal(3.0, r.Get(Field.CoPpm));
        Assert.Equal(20.9, r.Get(Field.O2Pct));
        Assert.Equal(0.4, r.Get(Field.Ch4LelPct));
        Assert.Equal(3.61, r.Get(Field.BatteryV));
        Assert.Equal(-87, r.Get(Field.RssiDbm));
        Assert.False(r.Has(Field.H2sPpm));
    }

    [Fact]
    public void Decode_Array_KeepsGoodReadingsAndRejectsBadOnesByIndex()
    {
        var (readings, rejections, ok) = Decode("""
            [ {"ts": 1795859000000, "values": {"co_ppm": 1}},
              {"ts": 1795859001000, "values": {"co_pmm": 2}},
              {"ts": 1795859002000, "values": {"co_ppm": 3}} ]
            """);

        Assert.True(ok);
        Assert.Equal([1.0, 3.0], readings.Select(r => r.Get(Field.CoPpm)!.Value));
        var rej = Assert.Single(rejections);
        Assert.Equal(RejectionReason.UnknownField, rej.Reason);
        Assert.Equal("co_pmm", rej.Field);
        Assert.Equal(1, rej.ReadingIndex);
    }

    [Theory]
    [InlineData("2026-11-28T09:59:59Z", -1000)]
    [InlineData("2026-11-28T09:59:59.5Z", -500)]
    [InlineData("2026-11-28T09:59:59.123456789Z", -877)]
    [InlineData("2026-11-28T10:59:59+01:00", -1000)]
    [InlineData("2026-11-28T08:29:59-01:30", -1000)]
    [InlineData("2026-11-28t09:59:59z", -1000)]
    public void Decode_Rfc3339WithOffset_IsConvertedToUtcMilliseconds(string ts, long offsetFromNow)
    {
        var (readings, _, _) = Decode($$$"""{"ts": "{{{ts}}}", "values": {"co_ppm": 1}}""");
        Assert.Equal(Now + offsetFromNow, Assert.Single(readings).TimestampMs);
    }

    [Fact]
    public void Decode_UnixMilliseconds_IsTakenAsIs()
    {
        var (readings, _, _) = Decode("""{"ts": 1795859999001, "values": {"co_ppm": 1}}""");
        Assert.Equal(1795859999001, Assert.Single(readings).TimestampMs);
    }

    [Fact]
    public void Decode_PayloadWithAByteOrderMark_IsRead()
    {
        var (readings, rejections, ok) = Decode([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("""{"values": {"co_ppm": 1}}""")]);
        Assert.True(ok);
        Assert.Empty(rejections);
        Assert.Single(readings);
    }

    [Theory]
    [InlineData("5.0", 5)]
    [InlineData("1e3", 1000)]
    [InlineData("1842", 1842)]
    public void Decode_SeqWrittenAsAWholeFloat_IsThatInteger(string seq, long expected)
    {
        var (readings, rejections, _) = Decode($$$"""{"seq": {{{seq}}}, "values": {"co_ppm": 1}}""");
        Assert.Empty(rejections);
        Assert.Equal(expected, Assert.Single(readings).Seq);
    }

    [Fact]
    public void Decode_AbsentTimestamp_UsesReceiveTime()
    {
        var (readings, _, _) = Decode("""{"values": {"co_ppm": 1}}""");
        var r = Assert.Single(readings);
        Assert.Equal(Now, r.TimestampMs);
        Assert.True(r.TimestampFromReceipt);
    }

    // The receive time is one millisecond: two readings at it are one point in InfluxDB (SPEC §6), the second
    // overwriting the first while both were counted stored. The second is quarantined instead, with its payload.
    [Fact]
    public void Decode_ArrayWithTwoReadingsWithoutTimestamp_QuarantinesTheSecond()
    {
        var (readings, rejections, ok) = Decode("""[{"values": {"co_ppm": 1}}, {"ts": 1795859990000, "values": {"co_ppm": 2}}, {"values": {"co_ppm": 3}}]""");
        Assert.True(ok);
        Assert.Equal([1.0, 2.0], readings.Select(r => r.TryGet(Field.CoPpm, out var v) ? v : double.NaN));
        var rejection = Assert.Single(rejections);
        Assert.Equal((RejectionReason.InvalidTimestamp, "ts", 2), (rejection.Reason, rejection.Field, rejection.ReadingIndex));
        Assert.Contains("reading 0", rejection.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"2026-11-28T09:59:59\"")]          // no offset: ambiguous local time
    [InlineData("\"2026-11-28 09:59:59Z\"")]
    [InlineData("\"2026-02-30T09:59:59Z\"")]
    [InlineData("\"2026-11-28T24:00:00Z\"")]
    [InlineData("\"2026-11-28T09:59:60Z\"")]
    [InlineData("\"2026-11-28T09:59:59.Z\"")]
    [InlineData("\"2026-11-28T09:59:59+0100\"")]
    [InlineData("\"yesterday\"")]
    [InlineData("1795859999000.5")]
    [InlineData("1e30")]
    [InlineData("null")]
    [InlineData("true")]
    [InlineData("{}")]
    public void Decode_BadTimestamp_RejectsReadingAsInvalidTimestamp(string ts)
    {
        var (readings, rejections, ok) = Decode($$$"""{"ts": {{{ts}}}, "values": {"co_ppm": 1}}""");
        Assert.True(ok);
        Assert.Empty(readings);
        var rej = Assert.Single(rejections);
        Assert.Equal(RejectionReason.InvalidTimestamp, rej.Reason);
        Assert.Equal("ts", rej.Field);
    }

    [Theory]
    [InlineData(5 * 60_000, null)]
    [InlineData((5 * 60_000) + 1, RejectionReason.FutureTimestamp)]
    [InlineData(-30L * 24 * 3600_000, null)]
    [InlineData((-30L * 24 * 3600_000) - 1, RejectionReason.TooOld)]
    [InlineData(long.MinValue / 2, RejectionReason.TooOld)]
    [InlineData(long.MaxValue / 2, RejectionReason.FutureTimestamp)]
    public void Decode_ClockSkewEdges_AreExact(long offsetMs, RejectionReason? expected)
    {
        var ts = (Now + offsetMs).ToString(CultureInfo.InvariantCulture);
        var (readings, rejections, _) = Decode($$$"""{"ts": {{{ts}}}, "values": {"co_ppm": 1}}""");
        if (expected is null)
        {
            Assert.Single(readings);
            Assert.Empty(rejections);
        }
        else
        {
            Assert.Empty(readings);
            Assert.Equal(expected, Assert.Single(rejections).Reason);
        }
    }

    public static TheoryData<SensorKind, string, double, double> RangeEdges()
    {
        var data = new TheoryData<SensorKind, string, double, double>();
        foreach (var kind in SensorKinds.All)
        {
            foreach (var spec in FieldCatalogue.ValuesFor(kind))
            {
                data.Add(kind, spec.Name, spec.Min, spec.Max);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(RangeEdges))]
    public void Decode_EveryFieldRangeEdge_IsInclusiveAndOneStepOutsideIsDropped(SensorKind kind, string field, double min, double max)
    {
        foreach (var (value, inRange) in new[] { (min, true), (max, true), (min - 0.001, false), (max + 0.001, false) })
        {
            var v = value.ToString("R", CultureInfo.InvariantCulture);
            var other = kind == SensorKind.Gas && field != "o2_pct" ? "\"o2_pct\": 20.9" : kind == SensorKind.Gas ? "\"co_ppm\": 1" : field == "temp_c" ? (kind == SensorKind.Humidity ? "\"rh_pct\": 50" : "\"microstrain\": 5") : "\"temp_c\": 12";
            var (readings, rejections, _) = Decode($$$"""{"ts": {{{Now}}}, "values": {"{{{field}}}": {{{v}}}, {{{other}}}}}""", kind);
            var reading = Assert.Single(readings);
            var spec = FieldCatalogue.ValuesFor(kind).Single(s => s.Name == field);
            if (inRange)
            {
                Assert.Equal(value, reading.Get(spec.Id));
                Assert.DoesNotContain(rejections, r => r.Reason == RejectionReason.OutOfRange);
            }
            else
            {
                Assert.False(reading.Has(spec.Id));
                var rej = Assert.Single(rejections);
                Assert.Equal(RejectionReason.OutOfRange, rej.Reason);
                Assert.Equal(field, rej.Field);
            }
        }
    }

    [Theory]
    [InlineData("battery_v", 0, 60)]
    [InlineData("rssi_dbm", -150, 0)]
    public void Decode_DeviceHealthEdges_AreInclusive(string member, double min, double max)
    {
        foreach (var (value, inRange) in new[] { (min, true), (max, true), (min - 0.5, false), (max + 0.5, false) })
        {
            var v = value.ToString("R", CultureInfo.InvariantCulture);
            var (readings, rejections, _) = Decode($$$"""{"values": {"co_ppm": 1}, "{{{member}}}": {{{v}}}}""");
            var reading = Assert.Single(readings);
            Assert.Equal(inRange, reading.FieldCount == 2);
            Assert.Equal(inRange ? 0 : 1, rejections.Count(r => r.Reason == RejectionReason.OutOfRange && r.Field == member));
        }
    }

    [Fact]
    public void Decode_OneFaultyGasCell_DropsOnlyThatField()
    {
        var (readings, rejections, _) = Decode("""{"values": {"co_ppm": 5000, "o2_pct": 20.9}}""");
        var r = Assert.Single(readings);
        Assert.Equal(20.9, r.Get(Field.O2Pct));
        Assert.False(r.Has(Field.CoPpm));
        Assert.Equal(("co_ppm", RejectionReason.OutOfRange), (rejections[0].Field, rejections[0].Reason));
    }

    [Theory]
    [InlineData("""{"ts": 1795859999000}""", "values")]
    [InlineData("""{"values": {}}""", "values")]
    [InlineData("""{"values": [1, 2]}""", "values")]
    [InlineData("""{"values": null}""", "values")]
    [InlineData("""{"value": {"co_ppm": 1}}""", "values")]
    public void Decode_NoValues_IsMissingValues(string json, string field)
    {
        var (readings, rejections, _) = Decode(json);
        Assert.Empty(readings);
        var rej = Assert.Single(rejections);
        Assert.Equal(RejectionReason.MissingValues, rej.Reason);
        Assert.Equal(field, rej.Field);
    }

    [Theory]
    [InlineData("""{"values": {"co_ppm": "3"}}""", "co_ppm")]
    [InlineData("""{"values": {"co_ppm": null}}""", "co_ppm")]
    [InlineData("""{"values": {"co_ppm": true}}""", "co_ppm")]
    [InlineData("""{"values": {"co_ppm": {"v": 1}}}""", "co_ppm")]
    [InlineData("""{"values": {"co_ppm": 1e999}}""", "co_ppm")]
    [InlineData("""{"values": {"co_ppm": 1, "co_ppm": 2}}""", "co_ppm")]
    [InlineData("""{"values": {"co_ppm": 1}, "battery_v": "full"}""", "battery_v")]
    [InlineData("""{"values": {"co_ppm": 1}, "seq": -1}""", "seq")]
    [InlineData("""{"values": {"co_ppm": 1}, "seq": 1.5}""", "seq")]
    [InlineData("""{"values": {"co_ppm": 1}, "seq": "7"}""", "seq")]
    public void Decode_NotAFiniteNumber_IsInvalidValue(string json, string field)
    {
        var (readings, rejections, _) = Decode(json);
        Assert.Empty(readings);
        var rej = Assert.Single(rejections);
        Assert.Equal(RejectionReason.InvalidValue, rej.Reason);
        Assert.Equal(field, rej.Field);
    }

    [Theory]
    [InlineData(SensorKind.Gas, "rh_pct")]
    [InlineData(SensorKind.Humidity, "co_ppm")]
    [InlineData(SensorKind.Strain, "rh_pct")]
    [InlineData(SensorKind.Gas, "CO_PPM")]
    [InlineData(SensorKind.Gas, "dew_point_c")]
    public void Decode_FieldNotInTheKindsTable_IsUnknownFieldForTheWholeReading(SensorKind kind, string field)
    {
        var (readings, rejections, _) = Decode($$$"""{"values": {"{{{field}}}": 1, "temp_c": 10, "o2_pct": 20}}""", kind);
        Assert.Empty(readings);
        Assert.Contains(rejections, r => r.Reason == RejectionReason.UnknownField && r.Field == field);
        Assert.Single(rejections);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("not json")]
    [InlineData("{\"values\": {\"co_ppm\": 1}")]
    [InlineData("{\"values\": {\"co_ppm\": 1}} {}")]
    [InlineData("42")]
    [InlineData("\"text\"")]
    [InlineData("null")]
    [InlineData("[1, 2]")]
    [InlineData("[{\"values\": {\"co_ppm\": 1}}, 7]")]
    [InlineData("[]")]
    [InlineData("{\"values\": {\"co_ppm\": 1}, } ")]
    [InlineData("// comment\n{\"values\": {\"co_ppm\": 1}}")]
    public void Decode_NotAnObjectOrArrayOfObjects_IsMalformedJsonForTheWholeMessage(string json)
    {
        var (readings, rejections, ok) = Decode(json);
        Assert.False(ok);
        Assert.Empty(readings);
        Assert.Equal(RejectionReason.MalformedJson, Assert.Single(rejections).Reason);
    }

    [Fact]
    public void Decode_InvalidUtf8_IsMalformedJson()
    {
        var (_, rejections, ok) = Decode([(byte)'{', 0xC3, 0x28, (byte)'}']);
        Assert.False(ok);
        Assert.Equal(RejectionReason.MalformedJson, Assert.Single(rejections).Reason);
    }

    [Fact]
    public void Decode_PayloadSizeLimit_IsInclusive()
    {
        var limit = DecodeLimits.Default.MaxPayloadBytes;
        var atLimit = PadTo("""{"values": {"co_ppm": 1}}""", limit);
        Assert.True(Decode(atLimit).Ok);
        var over = PadTo("""{"values": {"co_ppm": 1}}""", limit + 1);
        var (readings, rejections, ok) = Decode(over);
        Assert.False(ok);
        Assert.Empty(readings);
        Assert.Equal(RejectionReason.PayloadTooLarge, Assert.Single(rejections).Reason);
    }

    [Fact]
    public void Decode_ArrayOfExactlyTheLimit_IsAcceptedAndOneMoreRejectsTheWholeMessage()
    {
        var decoder = new PayloadDecoder(DecodeLimits.Default with { MaxPayloadBytes = 10 * 1024 * 1024 });
        string Array(int n) => "[" + string.Join(',', Enumerable.Range(0, n).Select(i => $$$"""{"ts":{{{Now - i}}},"values":{"co_ppm":1}}""")) + "]";

        var readings = new List<Reading>();
        var rejections = new List<Rejection>();
        Assert.True(decoder.Decode(Encoding.UTF8.GetBytes(Array(10_000)), SensorKind.Gas, Now, readings, rejections));
        Assert.Equal(10_000, readings.Count);

        readings.Clear();
        Assert.False(decoder.Decode(Encoding.UTF8.GetBytes(Array(10_001)), SensorKind.Gas, Now, readings, rejections));
        Assert.Empty(readings);
        Assert.Equal(RejectionReason.PayloadTooLarge, Assert.Single(rejections).Reason);
    }

    [Fact]
    public void Decode_HumidityWithRhAndTemp_DerivesDewPoint()
    {
        var (readings, _, _) = Decode("""{"values": {"rh_pct": 10, "temp_c": 25}}""", SensorKind.Humidity);
        // Sensirion's worked example for these constants: RH 10 %, 25 °C → -8.77 °C.
        Assert.Equal(-8.77, Assert.Single(readings).Get(Field.DewPointC)!.Value, 2);
    }

    [Fact]
    public void Decode_HumidityWithoutTemperature_HasNoDewPoint()
    {
        var (readings, _, _) = Decode("""{"values": {"rh_pct": 90}}""", SensorKind.Humidity);
        Assert.False(Assert.Single(readings).Has(Field.DewPointC));
    }

    [Fact]
    public void Decode_UnknownTopLevelMembers_AreIgnored()
    {
        var (readings, rejections, _) = Decode("""{"values": {"co_ppm": 1}, "firmware": {"v": [1, 2]}, "note": "x"}""");
        Assert.Single(readings);
        Assert.Empty(rejections);
    }

    [Fact]
    public void Decode_EscapedNamesAndTimestamp_AreUnderstood()
    {
        var (readings, _, _) = Decode("""{"t\u0073": "2026-11-28T09:59:59\u005A", "values": {"co\u005fppm": 7}}""");
        var r = Assert.Single(readings);
        Assert.Equal(7, r.Get(Field.CoPpm));
        Assert.Equal(Now - 1000, r.TimestampMs);
    }

    [Fact]
    public void Decode_IntegerValues_AreStoredAsDoubles()
    {
        var (readings, _, _) = Decode("""{"values": {"co_ppm": 3}}""");
        Assert.Equal(3.0, Assert.Single(readings).Get(Field.CoPpm));
    }

    private static byte[] PadTo(string json, int size)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var padded = new byte[size];
        bytes.CopyTo(padded, 0);
        padded.AsSpan(bytes.Length).Fill((byte)' ');
        return padded;
    }
}
