using System.Text;
using InfluxDB.Client;
using InfluxDB.Client.Api.Domain;
using InfluxDB.Client.Core.Exceptions;
using Microsoft.Extensions.Options;
using Telemetry.Ingestion.Configuration;

namespace Telemetry.Ingestion.Storage;

/// <summary>
/// InfluxDB 2.x/3.x through InfluxDB.Client's <c>WriteApiAsync</c> (one awaited request per call, no hidden
/// retries: the resilient writer owns retrying). Gzip when Telemetry:Influx:Gzip; org, bucket and token from configuration.
/// </summary>
internal sealed class InfluxV2Writer : IInfluxWriter
{
    private readonly InfluxOptions _o;
    private readonly InfluxDBClient _client;
    private readonly WriteApiAsync _write;

    public InfluxV2Writer(IOptions<InfluxOptions> options)
    {
        _o = options.Value;
        _client = new InfluxDBClient(new InfluxDBClientOptions(_o.Url)
        {
            Token = _o.Token,
            Org = _o.Org,
            Bucket = _o.Bucket,
            Timeout = _o.Timeout,
        });
        if (_o.Gzip)
        {
            _client.EnableGzip();
        }
        _write = _client.GetWriteApiAsync();
    }

    public string Describe => $"InfluxDB 2.x/3.x at {_o.Url}, org {_o.Org}, bucket {_o.Bucket}";

    public Task PrepareAsync(CancellationToken ct) => Task.CompletedTask;

    public async Task<WriteOutcome> WriteAsync(IReadOnlyList<ReadOnlyMemory<byte>> lines, CancellationToken ct)
    {
        var records = new string[lines.Count];
        for (var i = 0; i < records.Length; i++)
        {
            records[i] = Encoding.UTF8.GetString(lines[i].Span);
        }
        try
        {
            await _write.WriteRecordsAsync(records, WritePrecision.Ns, _o.Bucket, _o.Org, ct);
            return WriteOutcome.Ok;
        }
        catch (HttpException ex) when (!ct.IsCancellationRequested)
        {
            return WriteOutcome.FromStatus(ex.Status, ex.Message, ex.RetryAfter is { } s ? TimeSpan.FromSeconds(s) : null);
        }
        catch (FormatException ex) when (!ct.IsCancellationRequested)
        {
            // InfluxDB.Client 5.1.0 parses Retry-After with Convert.ToInt32 and throws on the HTTP-date form
            // (RFC 9110 §10.2.3) while building its HttpException: only 429/503-style answers carry the header.
            return new WriteOutcome(WriteStatus.Transient, $"InfluxDB answered with a Retry-After date ({ex.Message})");
        }
        catch (Exception ex) when (!ct.IsCancellationRequested && ex is HttpRequestException or OperationCanceledException or IOException or InvalidOperationException)
        {
            return new WriteOutcome(WriteStatus.Transient, ex.Message);
        }
    }

    public async Task<bool> PingAsync(CancellationToken ct)
    {
        try
        {
            return await _client.PingAsync();
        }
        catch (Exception ex) when (ex is HttpException or HttpRequestException or OperationCanceledException)
        {
            return false;
        }
    }

    public void Dispose() => _client.Dispose();
}
