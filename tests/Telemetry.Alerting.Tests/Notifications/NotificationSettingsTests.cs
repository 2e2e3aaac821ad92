namespace Telemetry.Alerting.Tests.Notifications;

/// <summary>
/// What start-up accepts must work when the first red alert comes: an e-mail recipient that is not an address failed
/// every e-mail only then (MailboxAddress.Parse, before the retries), and a negative retry delay threw on the first
/// retry, losing that notification.
/// </summary>
public sealed class NotificationSettingsTests
{
    private static AlertingOptions Valid() => new()
    {
        Webhooks = [new WebhookOptions { Url = "http://127.0.0.1:9/hook" }],
        Email = new EmailOptions { Host = "smtp.example", From = "alerts@tunnels.example", To = ["safety@tunnels.example"] },
    };

    [Fact]
    public void Validate_ValidNotificationSettings_Passes() =>
        Assert.False(new AlertingOptionsValidator().Validate(null, Valid()).Failed);

    [Theory]
    [InlineData("Email:From")]
    [InlineData("Email:To:0")]
    [InlineData("Email:RetryDelay")]
    [InlineData("Email:Timeout")]
    [InlineData("Webhooks:0:RetryDelay")]
    public void Validate_InvalidNotificationSetting_FailsNamingIt(string setting)
    {
        var o = Valid();
        switch (setting)
        {
            case "Email:From":
                o.Email.From = "alerts at tunnels";
                break;
            case "Email:To:0":
                o.Email.To = ["safety officers"];
                break;
            case "Email:RetryDelay":
                o.Email.RetryDelay = TimeSpan.FromSeconds(-5);
                break;
            case "Email:Timeout":
                o.Email.Timeout = TimeSpan.Zero;
                break;
            default:
                o.Webhooks[0].RetryDelay = TimeSpan.FromSeconds(-1);
                break;
        }
        var result = new AlertingOptionsValidator().Validate(null, o);
        Assert.True(result.Failed);
        Assert.Contains($"Telemetry:Alerts:{setting}:", result.FailureMessage, StringComparison.Ordinal);
    }
}
