using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Telemetry.Contracts.Alerts;

namespace Telemetry.Alerting.Notifications;

/// <summary>
/// Webhook (SPEC §7.4 channel 3): a JSON POST of the event. Signed with
/// <c>X-Telemetry-Signature: sha256=&lt;hex HMAC-SHA256 of the body&gt;</c>, and <c>X-Telemetry-Timestamp</c> (Unix
/// seconds of sending) so a receiver can refuse stale deliveries. Transient failures (network, timeout, 408, 429, 5xx)
/// are retried with exponential backoff and jitter, honouring <c>Retry-After</c>; other 4xx are permanent.
/// </summary>
internal sealed class WebhookAlertChannel(Func<HttpClient> client, WebhookOptions options, TimeProvider time, ILogger logger, int index) : IAlertChannel
{
    public const string SignatureHeader = "X-Telemetry-Signature";
    public const string TimestampHeader = "X-Telemetry-Timestamp";

    private static readonly TimeSpan MaxDelay = TimeSpan.FromMinutes(5);

    public string Name => $"webhook-{index}";

    public bool HonoursSilences => true;

    public bool CoalescesWhenBehind => true;

    public async Task SendAsync(AlertEvent alert, CancellationToken cancellationToken)
    {
        var body = AlertJson.Serialize(alert);
        var signature = options.Secret is { Length: > 0 } secret ? Sign(secret, body) : null;
        for (var attempt = 1; ; attempt++)
        {
            TimeSpan? retryAfter = null;
            string failure;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, options.Url) { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
                request.Headers.Add(TimestampHeader, time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
                if (signature is not null)
                {
                    request.Headers.Add(SignatureHeader, signature);
                }
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(options.Timeout);
                // A client per attempt from IHttpClientFactory: pooled handlers, rotated so DNS changes are seen.
                using var response = await client().SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
                var status = (int)response.StatusCode;
                failure = $"HTTP {status}";
                if (status is not (408 or 429) && status < 500)
                {
                    throw new HttpRequestException($"webhook {Name} refused the event permanently: {failure}", null, response.StatusCode);
                }
                retryAfter = response.Headers.RetryAfter?.Delta
                    ?? (response.Headers.RetryAfter?.Date is { } date ? date - time.GetUtcNow() : null);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                failure = $"timed out after {options.Timeout.TotalSeconds:0.#} s";
            }
            catch (HttpRequestException ex) when (ex.StatusCode is null)
            {
                failure = ex.Message;
            }
            if (attempt >= options.MaxAttempts)
            {
                throw new HttpRequestException($"webhook {Name} failed after {attempt} attempts: {failure}");
            }
            // Retry-After is honoured up to the backoff's cap: a receiver answering "Retry-After: 3600" must not hold
            // this webhook's every later alert for an hour (events wait behind this one).
            var delay = retryAfter is { } ra && ra > TimeSpan.Zero ? (ra < MaxDelay ? ra : MaxDelay) : Backoff(attempt);
            Log.WebhookRetry(logger, Name, alert.AlertId, attempt, failure, delay.TotalSeconds);
            await Task.Delay(delay, time, cancellationToken);
        }
    }

    /// <summary><c>sha256=&lt;hex&gt;</c> of the exact body bytes.</summary>
    public static string Sign(string secret, ReadOnlySpan<byte> body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    private TimeSpan Backoff(int attempt)
    {
        var exp = options.RetryDelay.TotalMilliseconds * Math.Pow(2, attempt - 1);
        // Jitter spreads the retries of many alerts raised together (a gas leak trips a whole section).
        var jittered = exp * (0.5 + Random.Shared.NextDouble());
        return TimeSpan.FromMilliseconds(Math.Min(jittered, MaxDelay.TotalMilliseconds));
    }
}
