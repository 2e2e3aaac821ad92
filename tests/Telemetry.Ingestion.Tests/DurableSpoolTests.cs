using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Telemetry.Ingestion.Configuration;
using Telemetry.Ingestion.Metrics;
using Telemetry.Ingestion.Spool;
using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests;

public sealed class DurableSpoolTests : IDisposable
{
    private readonly TempDir _dir = new("spool");

    public void Dispose() => _dir.Dispose();

    private DurableSpool Open(long maxBytes = 64 * 1024 * 1024, long segmentBytes = 1024 * 1024) =>
        new(Options.Create(new SpoolOptions { Directory = _dir.Path, MaxBytes = maxBytes, SegmentBytes = segmentBytes }), new IngestMetrics(), NullLogger<DurableSpool>.Instance);

    private static SpoolBatch Batch(int first, int count)
    {
        var b = new SpoolBatch { CreatedMs = 1000 + first };
        for (var i = first; i < first + count; i++)
        {
            b.Add($"gas,sensor=s{i} co_ppm={i} {i}", isReading: true);
        }
        return b;
    }

    private static async Task<List<string>> DrainAsync(DurableSpool spool)
    {
        var lines = new List<string>();
        while (!spool.IsDrained)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            using var chunk = await spool.ReadAsync(7, cts.Token);
            lines.AddRange(chunk.SplitLines().Select(l => Encoding.UTF8.GetString(l.Span)));
            spool.Commit(chunk);
        }
        return lines;
    }

    /// <summary>A segment file on a disk that fills up: with <see cref="Full"/> set, a write gets half way, then fails.</summary>
    private sealed class DiskThatFills(string path) : FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete, bufferSize: 0)
    {
        public bool Full { get; set; }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (Full)
            {
                base.Write(buffer[..(buffer.Length / 2)]);
                throw new IOException("No space left on device");
            }
            base.Write(buffer);
        }
    }

    // An append that fails half way (a full disk) must leave nothing of itself behind: the readings appended once space
    // is back (acknowledged to the broker) would otherwise sit behind an unreadable record, where reading and the
    // next start's recovery stop.
    [Fact]
    public async Task Append_FailingHalfWay_LeavesNothingBehind_AndLaterAppendsSurviveARestart()
    {
        DiskThatFills? disk = null;
        var options = Options.Create(new SpoolOptions { Directory = _dir.Path, MaxBytes = 64 * 1024 * 1024, SegmentBytes = 1024 * 1024 });
        using (var spool = new DurableSpool(options, new IngestMetrics(), NullLogger<DurableSpool>.Instance, path => disk = new DiskThatFills(path)))
        {
            await spool.AppendAsync(Batch(0, 10), CancellationToken.None);
            disk!.Full = true;
            await Assert.ThrowsAsync<IOException>(async () => await spool.AppendAsync(Batch(10, 10), CancellationToken.None));
            disk.Full = false;
            await spool.AppendAsync(Batch(20, 10), CancellationToken.None);
        }
        using var again = Open();
        Assert.Equal(20, again.PendingReadings);
        Assert.Equal(Enumerable.Range(0, 10).Concat(Enumerable.Range(20, 10)).Select(i => $"gas,sensor=s{i} co_ppm={i} {i}"), await DrainAsync(again));
    }

    [Fact]
    public async Task AppendedBatches_AreReadBackInOrder_AcrossSegments()
    {
        using var spool = Open(segmentBytes: 64 * 1024);
        for (var i = 0; i < 2000; i += 10)
        {
            await spool.AppendAsync(Batch(i, 10), CancellationToken.None);
        }
        Assert.Equal(2000, spool.PendingReadings);
        Assert.True(Directory.GetFiles(_dir.Path, "*.seg").Length > 1);
        var lines = await DrainAsync(spool);
        Assert.Equal(Enumerable.Range(0, 2000).Select(i => $"gas,sensor=s{i} co_ppm={i} {i}"), lines);
        Assert.Equal(0, spool.PendingReadings);
        // Forwarded segments are deleted; only the one being written remains.
        Assert.Single(Directory.GetFiles(_dir.Path, "*.seg"));
    }

    [Fact]
    public async Task Reopened_ResumesAfterTheCheckpoint_WithoutLosingOrRepeating()
    {
        using (var spool = Open())
        {
            await spool.AppendAsync(Batch(0, 5), CancellationToken.None);
            await spool.AppendAsync(Batch(5, 5), CancellationToken.None);
            using var chunk = await spool.ReadAsync(5, CancellationToken.None);
            Assert.Equal(5, chunk.Lines);
            spool.Commit(chunk);
        }
        using var reopened = Open();
        Assert.Equal(5, reopened.PendingReadings);
        Assert.Equal(Enumerable.Range(5, 5).Select(i => $"gas,sensor=s{i} co_ppm={i} {i}"), await DrainAsync(reopened));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(20)]
    [InlineData(40)]
    public async Task TornTail_IsCutOff_AndEveryRecordBeforeItSurvives(int tornBytes)
    {
        using (var spool = Open())
        {
            await spool.AppendAsync(Batch(0, 3), CancellationToken.None);
            await spool.AppendAsync(Batch(3, 3), CancellationToken.None);
        }
        var segment = Directory.GetFiles(_dir.Path, "*.seg").Single();
        var intact = new FileInfo(segment).Length;
        // The start of a third record, cut short by a power failure.
        var third = new byte[SpoolRecord.HeaderSize + 100];
        SpoolRecord.WriteHeader(third, new byte[100], 1, 1, 0);
        await using (var f = new FileStream(segment, FileMode.Append))
        {
            await f.WriteAsync(third.AsMemory(0, tornBytes));
        }
        using var reopened = Open();
        Assert.Equal(intact, new FileInfo(segment).Length);
        Assert.Equal(6, (await DrainAsync(reopened)).Count);
    }

    [Fact]
    public async Task FlippedBitInTheLastRecord_IsDetectedByTheChecksum()
    {
        using (var spool = Open())
        {
            await spool.AppendAsync(Batch(0, 3), CancellationToken.None);
            await spool.AppendAsync(Batch(3, 3), CancellationToken.None);
        }
        var segment = Directory.GetFiles(_dir.Path, "*.seg").Single();
        var bytes = await File.ReadAllBytesAsync(segment);
        bytes[^5] ^= 0x40;
        await File.WriteAllBytesAsync(segment, bytes);
        using var reopened = Open();
        Assert.Equal(Enumerable.Range(0, 3).Select(i => $"gas,sensor=s{i} co_ppm={i} {i}"), await DrainAsync(reopened));
    }

    [Fact]
    public async Task AtTheCap_AppendWaitsUntilTheForwarderFreesASegment()
    {
        using var spool = Open(maxBytes: 1024 * 1024, segmentBytes: 256 * 1024);
        var big = new SpoolBatch();
        for (var i = 0; i < 1000; i++)
        {
            big.Add($"gas,sensor=s{i} co_ppm={i} {new string('9', 60)}", isReading: true);
        }
        var appended = 0;
        Task waiting;
        while (true)
        {
            // At the cap the append marks the spool full before it starts waiting.
            var append = spool.AppendAsync(big, CancellationToken.None).AsTask();
            if (spool.IsFull)
            {
                waiting = append;
                break;
            }
            await append;
            appended++;
        }
        Assert.False(waiting.IsCompleted);
        Assert.True(spool.IsFull);
        Assert.True(spool.TotalBytes <= 1024 * 1024);

        // Forward enough to free the first segment: the waiting append goes through.
        while (!waiting.IsCompleted)
        {
            using var chunk = await spool.ReadAsync(1000, CancellationToken.None);
            spool.Commit(chunk);
            await Task.WhenAny(waiting, Task.Delay(TimeSpan.FromMilliseconds(50)));
        }
        await waiting;
        Assert.False(spool.IsFull);
        Assert.True(appended > 2);
    }
}
