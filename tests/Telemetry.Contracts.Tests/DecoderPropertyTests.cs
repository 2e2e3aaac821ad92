using CsCheck;
using System.Text;
using Telemetry.Contracts;

namespace Telemetry.Contracts.Tests;

public sealed class DecoderPropertyTests
{
    private const long Now = 1795860000000;
    private static readonly PayloadDecoder Decoder = new(DecodeLimits.Default);

    private static void DecodeNeverThrows(byte[] payload, SensorKind kind)
    {
        var readings = new List<Reading>();
        var rejections = new List<Rejection>();
        var ok = Decoder.Decode(payload, kind, Now, readings, rejections);
        // Every message is accounted for: a whole-message rejection leaves exactly one rejection and no reading.
        if (!ok)
        {
            Assert.Empty(readings);
            Assert.Single(rejections);
            Assert.Equal(RejectionScope.Message, rejections[0].Reason.Scope());
        }
    }

    [Fact]
    public void Decode_ArbitraryBytes_NeverThrows() =>
        Gen.Byte.Array[0, 512].Select(Gen.Enum<SensorKind>())
            .Sample((bytes, kind) => DecodeNeverThrows(bytes, kind), iter: 20_000);

    private static readonly Gen<string> JsonScalar = Gen.OneOf(
        Gen.Double.Select(d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture)),
        Gen.Long.Select(l => l.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        Gen.String[Gen.Char.AlphaNumeric, 0, 12].Select(s => $"\"{s}\""),
        Gen.Const("null"), Gen.Const("true"), Gen.Const("1e999"), Gen.Const("\"2026-11-28T09:59:59Z\""));

    private static readonly Gen<string> Key = Gen.OneOf(
        Gen.OneOfConst("ts", "seq", "values", "battery_v", "rssi_dbm", "co_ppm", "o2_pct", "rh_pct", "temp_c", "microstrain", "bogus"),
        Gen.String[Gen.Char.AlphaNumeric, 0, 8]);

    private static Gen<string> Json(int depth) => depth == 0
        ? JsonScalar
        : Gen.OneOf(
            JsonScalar,
            Gen.Select(Key, Json(depth - 1)).Array[0, 5].Select(kv => "{" + string.Join(',', kv.Select(p => $"\"{p.Item1}\":{p.Item2}")) + "}"),
            Json(depth - 1).Array[0, 4].Select(items => "[" + string.Join(',', items) + "]"));

    [Fact]
    public void Decode_ArbitraryJson_NeverThrowsAndAccountsForTheMessage() =>
        Json(4).Select(Gen.Enum<SensorKind>())
            .Sample((json, kind) => DecodeNeverThrows(Encoding.UTF8.GetBytes(json), kind), iter: 20_000);
}
