using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Text;

namespace Telemetry.Testing;

/// <summary>
/// An HTTP server on a free loopback port whose every answer a test writes: for what has no real server here
/// (InfluxDB 2.x, a proxy's answers). The response is closed after the handler returns.
/// </summary>
public sealed class HttpStub : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;

    public HttpStub(Func<HttpListenerContext, Task> handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        Port = FreePort.Next();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/");
        _listener.Start();
        _loop = Task.Run(async () =>
        {
            while (_listener.IsListening)
            {
                HttpListenerContext ctx;
                try
                {
                    ctx = await _listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }
                try
                {
                    await handle(ctx);
                }
                finally
                {
                    ctx.Response.Close();
                }
            }
        });
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The request's body as text, gunzipped when it came compressed.</summary>
    public static async Task<string> BodyAsync(HttpListenerRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = request.Headers["Content-Encoding"] == "gzip"
            ? new GZipStream(request.InputStream, CompressionMode.Decompress)
            : request.InputStream;
        using var reader = new StreamReader(body, Encoding.UTF8);
        return await reader.ReadToEndAsync();
    }

    /// <summary>Writes <paramref name="text"/> as the response body.</summary>
    public static async Task WriteAsync(HttpListenerResponse response, string text)
    {
        ArgumentNullException.ThrowIfNull(response);
        await response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(text));
    }

    public async ValueTask DisposeAsync()
    {
        // Close only: on Linux Stop() already unregisters the port, and a Close() after it binds it again to unregister
        // it, failing when another test's server has taken the port meanwhile.
        _listener.Close();
        await _loop;
    }
}
