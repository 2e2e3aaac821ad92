using System.Globalization;

namespace Telemetry.Simulator.Publishing;

/// <summary>Where to publish: <c>HOST:PORT</c> on the command line, 127.0.0.1:1883 by default.</summary>
internal sealed record BrokerEndpoint(string Host, int Port)
{
    public static BrokerEndpoint Default { get; } = new("127.0.0.1", 1883);

    public static bool TryParse(string? text, out BrokerEndpoint endpoint)
    {
        endpoint = Default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || text.EndsWith(']'))
        {
            endpoint = new BrokerEndpoint(text.Trim('[', ']'), 1883);
            return true;
        }
        if (!int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            return false;
        }
        endpoint = new BrokerEndpoint(text[..colon].Trim('[', ']'), port);
        return true;
    }

    public override string ToString() => $"{Host}:{Port.ToString(CultureInfo.InvariantCulture)}";
}
