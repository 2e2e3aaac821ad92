using System.Text;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using MimeKit;
using Telemetry.Contracts.Alerts;

namespace Telemetry.Alerting.Notifications;

/// <summary>
/// E-mail (SPEC §7.4 channel 4) through SMTP with MailKit, for the configured levels (default red): an event is sent
/// when its level or its previous level is one of them, so people also learn that a red alert is over.
/// </summary>
internal sealed class EmailAlertChannel(EmailOptions options, TimeProvider time, ILogger logger) : IAlertChannel
{
    public string Name => "email";

    public bool HonoursSilences => true;

    public bool CoalescesWhenBehind => true;

    public async Task SendAsync(AlertEvent alert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var levels = options.EffectiveLevels;
        if (!levels.Contains(alert.Level) && (alert.PreviousLevel is null || !levels.Contains(alert.PreviousLevel)))
        {
            return;
        }
        using var message = Compose(alert);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var client = new SmtpClient { Timeout = (int)options.Timeout.TotalMilliseconds };
                var security = !options.UseTls ? SecureSocketOptions.None
                    : options.Port == 465 ? SecureSocketOptions.SslOnConnect
                    : SecureSocketOptions.StartTls;
                await client.ConnectAsync(options.Host!, options.Port, security, cancellationToken);
                if (!string.IsNullOrEmpty(options.Username))
                {
                    await client.AuthenticateAsync(options.Username, options.Password ?? "", cancellationToken);
                }
                await client.SendAsync(message, cancellationToken);
                await client.DisconnectAsync(quit: true, cancellationToken);
                return;
            }
            catch (Exception ex) when (ex is IOException or SmtpCommandException or SmtpProtocolException or System.Net.Sockets.SocketException or TimeoutException
                && attempt < options.MaxAttempts && !cancellationToken.IsCancellationRequested)
            {
                var delay = options.RetryDelay * Math.Pow(2, attempt - 1);
                Log.EmailRetry(logger, alert.AlertId, attempt, ex.Message, delay.TotalSeconds);
                await Task.Delay(delay, time, cancellationToken);
            }
        }
    }

    private MimeMessage Compose(AlertEvent e)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(options.From!));
        foreach (var to in options.To)
        {
            message.To.Add(MailboxAddress.Parse(to));
        }
        var repeat = e.Repeat ? "still unacknowledged: " : "";
        var backlog = e.Backlog ? " (from a backlog)" : "";
        message.Subject = $"[{e.Level.ToUpperInvariant()}] {e.AlertId} {repeat}{StateWord(e.State)}{backlog}: {e.Message}";
        var body = new StringBuilder()
            .AppendLine(e.Message)
            .AppendLine()
            .AppendLine($"Alert:     {e.AlertId}")
            .AppendLine($"State:     {StateWord(e.State)}{(e.Repeat ? " (repeat: not yet acknowledged)" : "")}{backlog}")
            .AppendLine($"Level:     {e.Level} (was {e.PreviousLevel})")
            .AppendLine($"Value:     {e.Value?.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)}")
            .AppendLine($"Threshold: {e.Threshold?.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)}")
            .AppendLine($"Time:      {Telemetry.Contracts.Rfc3339.Format(e.Ts.ToUnixTimeMilliseconds())}")
            .AppendLine($"Site {e.Site}, tunnel {e.Tunnel}, sensor {e.Sensor} ({e.Kind}), rule {e.Rule}");
        if (e.AcknowledgedBy is not null)
        {
            body.AppendLine($"Acknowledged by {e.AcknowledgedBy}: {e.Note}");
        }
        message.Body = new TextPart("plain") { Text = body.ToString() };
        return message;
    }

    private static string StateWord(AlertState s) => s.ToString().ToLowerInvariant();
}
