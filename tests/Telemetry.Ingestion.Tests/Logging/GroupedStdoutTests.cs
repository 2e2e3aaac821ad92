using System.Text;
using Telemetry.Ingestion.Logging;
using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests.Logging;

/// <summary>
/// The service's standard output groups log lines into fewer writes: no line may be lost, cut or held back waiting for
/// more, and the text must be the UTF-8 the console logger gave it.
/// </summary>
public sealed class GroupedStdoutTests
{
    private static CancellationToken Ct => CancellationToken.None;

    [Fact]
    public async Task LinesFromManyThreads_AllArriveWhole_WithoutAFlush()
    {
        var output = new CapturingStream();
        using var writer = new GroupedStdout(output);
        const int Threads = 4, Lines = 5_000;

        await Task.WhenAll(Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < Lines; i++)
            {
                writer.Write($"thread={t} line={i} CO 45.8 ppm is above the amber level 30 ppm{Environment.NewLine}");
            }
        }, Ct)));

        // Not flushed: the background drain must get every line out by itself.
        await Poll.UntilAsync(() => output.Text.Count(c => c == '\n') == Threads * Lines, "every line on the output");
        var lines = output.Text.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Threads * Lines, lines.Length);
        for (var t = 0; t < Threads; t++)
        {
            // Each thread's lines whole and in the order it wrote them.
            var mine = lines.Where(l => l.StartsWith($"thread={t} ", StringComparison.Ordinal)).ToList();
            Assert.Equal(Enumerable.Range(0, Lines).Select(i => $"thread={t} line={i} CO 45.8 ppm is above the amber level 30 ppm"), mine);
        }
        Assert.True(output.Writes < Threads * Lines, $"{output.Writes} writes for {Threads * Lines} lines: nothing was grouped");
    }

    [Fact]
    public void Text_IsUtf8WithoutAByteOrderMark_SurrogatePairsIncluded()
    {
        var output = new CapturingStream();
        using var writer = new GroupedStdout(output);
        const string Line = "strain 1200 µε at kukes/t01 — 🚧 withdraw\n";

        writer.Write(Line);
        writer.Write('!');
        writer.Write(['a', 'b', 'c'], 1, 2);
        writer.Flush();

        Assert.Equal(Encoding.UTF8.GetBytes(Line + "!bc"), output.Bytes);
    }

    private sealed class CapturingStream : Stream
    {
        private readonly MemoryStream _bytes = new();
        private int _writes;

        public byte[] Bytes
        {
            get
            {
                lock (_bytes)
                {
                    return _bytes.ToArray();
                }
            }
        }

        public string Text => Encoding.UTF8.GetString(Bytes);

        public int Writes => Volatile.Read(ref _writes);

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            lock (_bytes)
            {
                _bytes.Write(buffer);
            }
            Interlocked.Increment(ref _writes);
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
