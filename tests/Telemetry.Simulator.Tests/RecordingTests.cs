using System.Text;
using System.Text.Json;
using Telemetry.Contracts;
using Telemetry.Simulator.Generation;
using Telemetry.Simulator.Recording;

namespace Telemetry.Simulator.Tests;

public sealed class RecordingTests
{
    [Fact]
    public void FeedFile_WritesTheSpecLineFormat_AndReadsItBackExactly()
    {
        byte[] binary = [0xFF, 0xFE, 0x00, 0x41];
        var text = "{\"ts\":\"2026-11-28T10:15:00.250Z\",\"values\":{\"rh_pct\":97.1}}"u8.ToArray();
        FeedMessage[] feed = [new(1500, "tunnels/kukes/t01/humidity/humidity-0001", text), new(2000, "tunnels/kukes/t01/gas/gas-0001", binary)];
        using var dir = new Testing.TempDir("feed");
        var path = dir.Combine("f.jsonl");
        Assert.Equal(2, FeedFile.Write(path, feed));

        var lines = File.ReadAllLines(path);
        using (var first = JsonDocument.Parse(lines[0]))
        {
            Assert.Equal(["offset_ms", "topic", "payload"], first.RootElement.EnumerateObject().Select(p => p.Name));
            Assert.Equal(1500, first.RootElement.GetProperty("offset_ms").GetInt64());
            Assert.Equal(Encoding.UTF8.GetString(text), first.RootElement.GetProperty("payload").GetString());
        }
        using (var second = JsonDocument.Parse(lines[1]))
        {
            Assert.Equal(binary, second.RootElement.GetProperty("payload_b64").GetBytesFromBase64());
        }
        var back = FeedFile.Read(path).ToList();
        Assert.Equal(feed.Select(m => (m.OffsetMs, m.Topic)), back.Select(m => (m.OffsetMs, m.Topic)));
        Assert.Equal(text, back[0].Payload);
        Assert.Equal(binary, back[1].Payload);
    }

    [Fact]
    public void FeedFile_BadLine_NamesFileAndLine()
    {
        using var dir = new Testing.TempDir("feed");
        var path = dir.Combine("bad.jsonl");
        File.WriteAllText(path, "{\"offset_ms\":1,\"topic\":\"a\",\"payload\":\"{}\"}\nnot json\n");
        var ex = Assert.Throws<FormatException>(() => FeedFile.Read(path).ToList());
        Assert.StartsWith(path + ":2:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Shift_MovesEveryTs_AndNothingElse()
    {
        var payload = "[{\"ts\":\"2026-11-28T10:00:00.000Z\",\"seq\":1,\"values\":{\"ts\":1}},{\"ts\":1795860000000,\"values\":{\"co_ppm\":1}}]"u8.ToArray();
        var shifted = Encoding.UTF8.GetString(TimestampRebaser.Shift(payload, 3_600_000));
        Assert.Equal("[{\"ts\":\"2026-11-28T11:00:00.000Z\",\"seq\":1,\"values\":{\"ts\":1}},{\"ts\":1795863600000,\"values\":{\"co_ppm\":1}}]", shifted);
    }

    [Fact]
    public void Shift_LeavesMalformedPayloadsAsTheyAre()
    {
        var start = TestFeeds.Load("malformed-payloads").Start;
        foreach (var m in TestFeeds.Generate("malformed-payloads", TimeSpan.FromMinutes(2)).Where(m => m.Expected is not null))
        {
            var moved = m with { Payload = TimestampRebaser.Shift(m.Payload, 86_400_000) };
            var d = TestFeeds.Decode(moved, start.AddDays(1));
            Assert.Equal(m.Expected, Assert.Single(d.Rejections).Reason);
            if (m.Expected is RejectionReason.MalformedJson or RejectionReason.InvalidTimestamp)
            {
                Assert.Equal(m.Payload, moved.Payload);
            }
        }
    }

    [Fact]
    public void EstimateStart_IsTheRecordingStart_DespiteSkewAndBacklog()
    {
        foreach (var name in new[] { "sensor-faults", "logger-backlog", "malformed-payloads" })
        {
            var scenario = TestFeeds.Load(name);
            var feed = TestFeeds.Generate(scenario, TimeSpan.FromMinutes(15));
            Assert.Equal(scenario.Start.ToUnixTimeMilliseconds(), TimestampRebaser.EstimateStartMs(feed.Select(m => (m.OffsetMs, m.Payload))));
        }
    }
}
