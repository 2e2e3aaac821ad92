using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Telemetry.Ingestion.Configuration;
using Telemetry.Ingestion.Metrics;
using Telemetry.Ingestion.Pipeline;
using Telemetry.Ingestion.Spool;
using Telemetry.Ingestion.Storage;
using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests.Storage;

public sealed class ForwarderTests : IDisposable
{
    private readonly TempDir _dir = new("forwarder");

    public void Dispose() => _dir.Dispose();

    /// <summary>Throws what no one expected on its first write (InfluxDB.Client's FormatException was one), then stores.</summary>
    private sealed class SurprisingWriter : IInfluxWriter
    {
        private int _calls;

        public ConcurrentQueue<string> Stored { get; } = new();

        public string Describe => "a writer with a surprise";

        public Task PrepareAsync(CancellationToken ct) => Task.CompletedTask;

        public Task<bool> PingAsync(CancellationToken ct) => Task.FromResult(true);

        public Task<WriteOutcome> WriteAsync(IReadOnlyList<ReadOnlyMemory<byte>> lines, CancellationToken ct)
        {
            if (Interlocked.Increment(ref _calls) == 1)
            {
                throw new NotSupportedException("a client library's surprise");
            }
            foreach (var l in lines)
            {
                Stored.Enqueue(Encoding.UTF8.GetString(l.Span));
            }
            return Task.FromResult(WriteOutcome.Ok);
        }

        public void Dispose()
        {
        }
    }

    // Whatever a writer throws, the chunk stays in the spool and is written again: one surprise must not stop
    // forwarding (and with it the host, ingestion and alerting) while acknowledged readings wait in the spool.
    [Fact]
    public async Task Writer_ThrowingSomethingUnexpected_KeepsForwarding_AndLosesNothing()
    {
        var metrics = new IngestMetrics();
        using var spool = new DurableSpool(Options.Create(new SpoolOptions { Directory = _dir.Path }), metrics, NullLogger<DurableSpool>.Instance);
        var batch = new SpoolBatch { CreatedMs = 1 };
        for (var i = 0; i < 5; i++)
        {
            batch.Add($"gas,sensor=s{i} co_ppm={i} {i}", isReading: true);
        }
        await spool.AppendAsync(batch, CancellationToken.None);
        var influx = Options.Create(new InfluxOptions { Url = "http://127.0.0.1:9", Database = "db" });
        var writer = new SurprisingWriter();
        await using var services = new ServiceCollection()
            .AddSingleton<IInfluxWriter>(writer)
            .AddSingleton(new ResilientWriter(writer, new PointFactory(Options.Create(new IngestionOptions()), TimeProvider.System), metrics, influx, TimeProvider.System, NullLogger<ResilientWriter>.Instance,
            new RejectionLog(NullLogger<RejectionLog>.Instance)))
            .BuildServiceProvider();
        using var forwarder = new Forwarder(spool, services, influx, Options.Create(new IngestionOptions()), metrics, TimeProvider.System, NullLogger<Forwarder>.Instance);

        await forwarder.StartAsync(CancellationToken.None);
        await Poll.UntilAsync(() => spool.IsDrained || forwarder.ExecuteTask!.IsFaulted, "the spool forwarded");
        await forwarder.StopAsync(CancellationToken.None);

        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"gas,sensor=s{i} co_ppm={i} {i}"), writer.Stored);
    }
}
