namespace Telemetry.Ingestion.Mqtt;

internal static partial class Log
{
    [LoggerMessage(1001, LogLevel.Warning, "No Telemetry:Mqtt:Host configured: started the embedded MQTT broker on {Address}:{Port}. Sensors publish to it; set Telemetry:Mqtt:Host to use an external broker")]
    public static partial void EmbeddedBrokerStarted(ILogger logger, string address, int port);

    [LoggerMessage(1002, LogLevel.Information, "Connected to MQTT broker {Host}:{Port} as {ClientId} (session present: {SessionPresent}); subscribed to {Filters}")]
    public static partial void Connected(ILogger logger, string host, int port, string clientId, bool sessionPresent, string filters);

    [LoggerMessage(1003, LogLevel.Warning, "MQTT connection to {Host}:{Port} failed: {Reason}; retrying in {Delay}")]
    public static partial void ConnectFailed(ILogger logger, string host, int port, string reason, TimeSpan delay);

    [LoggerMessage(1004, LogLevel.Warning, "MQTT connection lost ({Reason}); {Pending} received messages will be redelivered by the broker")]
    public static partial void Disconnected(ILogger logger, string reason, long pending);

    [LoggerMessage(1005, LogLevel.Error, "MQTT broker refused the connection: {ResultCode} {ReasonString}; check Telemetry:Mqtt:Username/Password/ClientId")]
    public static partial void Refused(ILogger logger, string resultCode, string reasonString);

    [LoggerMessage(1006, LogLevel.Error, "MQTT subscription to {Filter} was not granted: {ResultCode}")]
    public static partial void SubscribeRefused(ILogger logger, string filter, string resultCode);

    [LoggerMessage(1007, LogLevel.Information, "Stopped taking MQTT messages; draining what was received")]
    public static partial void Draining(ILogger logger);

    [LoggerMessage(1009, LogLevel.Warning, "Shutdown: received messages could not be made durable within {Timeout} (spool full?); they stay unacknowledged and the broker redelivers them")]
    public static partial void DrainTimedOut(ILogger logger, TimeSpan timeout);

    [LoggerMessage(1011, LogLevel.Warning, "The broker sent more than the receive maximum of {Window} unacknowledged messages (mosquitto 2.0 does when draining a queued session); reading paused until acknowledgements catch up, so memory stays bounded")]
    public static partial void ReceiveWindowExceeded(ILogger logger, int window);
}

internal static partial class Log
{
    [LoggerMessage(1008, LogLevel.Information, "Alert publisher connected as {ClientId}")]
    public static partial void PublisherConnected(ILogger logger, string clientId);

    [LoggerMessage(1010, LogLevel.Information, "Alert publisher not connected yet ({Reason}); the first alert connects it")]
    public static partial void PublisherDeferred(ILogger logger, string reason);

    [LoggerMessage(1012, LogLevel.Warning, "Cannot read the retained alerts under {Filter} back (MQTT account '{Username}'): the broker does not deliver them to this account, so what a crash kept from MQTT is not repaired at start. Grant it read on the alerts topics (deploy/mosquitto/acl: topic readwrite alerts/#)")]
    public static partial void RetainedNotReadable(ILogger logger, string filter, string username);
}
