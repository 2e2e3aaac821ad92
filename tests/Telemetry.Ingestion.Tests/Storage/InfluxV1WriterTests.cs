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

    // A production 1.x gives the service WRITE on an existing database and no admin rights: influxd then refuses
    // CREATE DATABASE (403, "requires admin privilege") but takes the writes. Preparing used to retry that forever,
    // so nothing was ever forwarded and the spool filled up.
    [Fact]
    public async Task Prepare_AsAWriteOnlyUser_StillForwards()
    {
        await using var influx = await InfluxServer.StartAsync(auth: true);
        var db = InfluxServer.NewDatabaseName("wo");
        await influx.CreateDatabaseAsync(db);
        var password = Guid.NewGuid().ToString("N");
        await influx.QueryAsync(null, $"CREATE USER writer WITH PASSWORD '{password}'", post: true);
        await influx.QueryAsync(null, $"GRANT WRITE ON \"{db}\" TO writer", post: true);
        using var writer = new InfluxV1Writer(Options.Create(new InfluxOptions { Url = influx.Url, Database = db, Username = "writer", Password = password }));

        await writer.PrepareAsync(CancellationToken.None);
        var line = (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes($"gas,site=kukes,tunnel=t01,sensor=gas-0 co_ppm=3.5 {Feed.BaseMs() * 1_000_000}");
        Assert.Equal(WriteStatus.Ok, (await writer.WriteAsync([line], CancellationToken.None)).Status);

        Assert.Equal([3.5], (await influx.RowsAsync(db, "SELECT co_ppm FROM gas")).Select(r => r["co_ppm"].GetDouble()));
    }
}
