using System.Text;
using Microsoft.Extensions.Options;
using Telemetry.Ingestion.Configuration;
using Telemetry.Ingestion.Storage;
using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests.Storage;

/// <summary>The InfluxDB 1.x writer against a real InfluxDB 1.x, with request compression on and off.</summary>
public sealed class InfluxV1WriterTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Write_StoresEveryLine_WithAndWithoutGzip(bool gzip)
    {
        var influx = await InfluxServer.SharedAsync();
        var db = InfluxServer.NewDatabaseName(gzip ? "gz" : "plain");
        using var writer = new InfluxV1Writer(Options.Create(new InfluxOptions { Url = influx.Url, Database = db, Gzip = gzip }));
        await writer.PrepareAsync(CancellationToken.None);
        var t = Feed.BaseMs() * 1_000_000;
        var lines = Enumerable.Range(0, 3)
            .Select(i => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes($"gas,site=kukes,tunnel=t01,sensor=gas-{i} co_ppm={i}.5 {t + i}"))
            .ToList();

        // Twice: request bodies come from a pool, so the second write runs on a body the first one returned.
        Assert.Equal(WriteStatus.Ok, (await writer.WriteAsync(lines, CancellationToken.None)).Status);
        Assert.Equal(WriteStatus.Ok, (await writer.WriteAsync(lines, CancellationToken.None)).Status);

        var rows = await influx.RowsAsync(db, "SELECT co_ppm FROM gas GROUP BY sensor");
        Assert.Equal([0.5, 1.5, 2.5], rows.Select(r => r["co_ppm"].GetDouble()).Order());
    }
}
