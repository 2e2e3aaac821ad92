using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IO;
using Telemetry.Ingestion.Configuration;

namespace Telemetry.Ingestion.Storage;

/// <summary>
/// InfluxDB 1.x: <c>POST /write?db=&amp;rp=&amp;precision=ns</c>, gzip if configured, Basic auth (tech-facts §3: InfluxDB.Client
/// speaks only <c>/api/v2/write</c>, which 1.x before 1.8 does not have).
/// </summary>
internal sealed class InfluxV1Writer : IInfluxWriter
{
    private readonly InfluxOptions _o;
    private readonly HttpClient _http;

    public InfluxV1Writer(IOptions<InfluxOptions> options)
    {
        _o = options.Value;
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1), AutomaticDecompression = DecompressionMethods.All })
        {
            BaseAddress = new Uri(_o.Url.TrimEnd('/') + "/"),
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
        };
        if (_o.Username.Length > 0)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_o.Username}:{_o.Password}")));
        }
    }

    public string Describe => $"InfluxDB 1.x at {_o.Url}, database {_o.Database}";

    public async Task PrepareAsync(CancellationToken ct)
    {
        using var content = new FormUrlEncodedContent([new("q", $"CREATE DATABASE \"{_o.Database.Replace("\"", "\\\"", StringComparison.Ordinal)}\"")]);
        using var cts = Timeout(ct);
        using var response = await _http.PostAsync(new Uri("query", UriKind.Relative), content, cts.Token);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            // A user without admin rights (WRITE on an existing database) may not create databases: writes tell
            // whether the database exists (404, handled there) and whether the credentials work (401/403).
            return;
        }
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"CREATE DATABASE {_o.Database} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cts.Token)}");
        }
    }

    public async Task<WriteOutcome> WriteAsync(IReadOnlyList<ReadOnlyMemory<byte>> lines, CancellationToken ct)
    {
        var query = $"write?db={Uri.EscapeDataString(_o.Database)}&precision=ns" + (_o.RetentionPolicy.Length > 0 ? $"&rp={Uri.EscapeDataString(_o.RetentionPolicy)}" : "");
        using var content = new StreamContent(LineBody.Encode(lines, _o.Gzip));
        content.Headers.ContentType = new MediaTypeHeaderValue("text/plain") { CharSet = "utf-8" };
        if (_o.Gzip)
        {
            content.Headers.ContentEncoding.Add("gzip");
        }
        try
        {
            using var cts = Timeout(ct);
            using var response = await _http.PostAsync(new Uri(query, UriKind.Relative), content, cts.Token);
            if (response.IsSuccessStatusCode)
            {
                return WriteOutcome.Ok;
            }
            var body = ErrorText(await response.Content.ReadAsStringAsync(cts.Token));
            if (response.StatusCode == HttpStatusCode.NotFound && body.Contains("database not found", StringComparison.Ordinal))
            {
                // Someone dropped the database under us: create it again and retry.
                await PrepareAsync(ct);
                return new WriteOutcome(WriteStatus.Transient, body);
            }
            return WriteOutcome.FromStatus((int)response.StatusCode, body, RetryAfter(response));
        }
        catch (Exception ex) when (!ct.IsCancellationRequested && ex is HttpRequestException or OperationCanceledException or IOException)
        {
            return new WriteOutcome(WriteStatus.Transient, ex.Message);
        }
    }

    // Retry-After is seconds or an HTTP-date (RFC 9110 §10.2.3); proxies in front of InfluxDB send dates.
    private static TimeSpan? RetryAfter(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } at } => at - TimeProvider.System.GetUtcNow() is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero,
        _ => null,
    };

    public async Task<bool> PingAsync(CancellationToken ct)
    {
        try
        {
            using var cts = Timeout(ct);
            using var response = await _http.GetAsync(new Uri("ping", UriKind.Relative), cts.Token);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            return false;
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>InfluxDB answers <c>{"error":"…"}</c>; the message inside is what people need to read.</summary>
    private static string ErrorText(string body)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(body);
            return doc.RootElement.TryGetProperty("error", out var e) && e.GetString() is { } text ? text : body;
        }
        catch (System.Text.Json.JsonException)
        {
            return body;
        }
    }

    private CancellationTokenSource Timeout(CancellationToken ct)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(_o.Timeout);
        return cts;
    }
}

/// <summary>Joins lines into one request body, gzipped when asked (it pays over a slow link; on loopback it only costs CPU).</summary>
internal static class LineBody
{
    // A 5,000-line body is a few hundred KB: a fresh MemoryStream put each one (and its growth) on the large-object
    // heap, several times a second, and each of those costs a full collection sooner. Pooled blocks do not.
    private static readonly RecyclableMemoryStreamManager Streams = new();

    /// <summary>The body, positioned at its start; the caller disposes it (which returns its memory to the pool).</summary>
    public static MemoryStream Encode(IReadOnlyList<ReadOnlyMemory<byte>> lines, bool gzip)
    {
        var output = Streams.GetStream("influx-write-body");
        if (gzip)
        {
            // The gzip stream must be closed to write its trailer, and must leave the body open for the caller.
            using var zip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true);
            Join(lines, zip);
        }
        else
        {
            Join(lines, output);
        }
        output.Position = 0;
        return output;
    }

    private static void Join(IReadOnlyList<ReadOnlyMemory<byte>> lines, Stream target)
    {
        for (var i = 0; i < lines.Count; i++)
        {
            if (i > 0)
            {
                target.WriteByte((byte)'\n');
            }
            target.Write(lines[i].Span);
        }
    }
}
