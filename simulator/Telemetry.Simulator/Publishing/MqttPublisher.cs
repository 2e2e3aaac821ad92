using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Telemetry.Simulator.Publishing;

/// <summary>How the publisher talks to the broker.</summary>
internal sealed record PublisherOptions
{
    /// <summary>Parallel MQTT connections; one connection is one TCP stream and one broker thread's worth of work.</summary>
    public int Connections { get; init; } = 4;

    /// <summary>
    /// Unacknowledged QoS 1 publishes allowed per connection (pipelining). Lowered to the broker's MQTT 5 receive
    /// maximum when it announces a smaller one: exceeding it is a protocol error.
    /// </summary>
    public int InFlightPerConnection { get; init; } = 256;

    public string ClientIdPrefix { get; init; } = "tunnel-sim";

    /// <summary>MQTT 5 by default; 3.1.1 encodes smaller packets and costs the client less per publish.</summary>
    public MqttProtocolVersion Protocol { get; init; } = MqttProtocolVersion.V500;
}

/// <summary>
/// Publishes at QoS 1 over several connections with many publishes in flight on each, bounded. A message's
/// connection is chosen by its partition key (the topic), so one sensor's messages stay in order.
/// A failed publish is not lost in the background: it is rethrown by the next publish or by
/// <see cref="FlushAsync"/>.
/// </summary>
internal sealed class MqttPublisher : IAsyncDisposable
{
    private readonly Connection[] _connections;
    private long _acknowledged;
    private Exception? _failure;

    private MqttPublisher(Connection[] connections) => _connections = connections;

    public int ConnectionCount => _connections.Length;

    /// <summary>The effective in-flight window of each connection.</summary>
    public int InFlightPerConnection => _connections[0].Window;

    /// <summary>Publishes the broker has acknowledged.</summary>
    public long Acknowledged => Interlocked.Read(ref _acknowledged);

    public static async Task<MqttPublisher> ConnectAsync(BrokerEndpoint broker, PublisherOptions options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(broker);
        ArgumentNullException.ThrowIfNull(options);
        var factory = new MqttClientFactory();
        var unique = Guid.NewGuid().ToString("N")[..8];
        var connections = new List<Connection>();
        MqttPublisher publisher;
        try
        {
            for (var i = 0; i < Math.Max(1, options.Connections); i++)
            {
                var client = factory.CreateMqttClient();
                var clientOptions = new MqttClientOptionsBuilder()
                    .WithTcpServer(broker.Host, broker.Port)
                    .WithClientId($"{options.ClientIdPrefix}-{unique}-{i}")
                    .WithCleanStart(true)
                    .WithProtocolVersion(options.Protocol)
                    .WithTimeout(TimeSpan.FromSeconds(10))
                    .Build();
                MqttClientConnectResult result;
                try
                {
                    result = await client.ConnectAsync(clientOptions, ct);
                }
                catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException && !ct.IsCancellationRequested)
                {
                    client.Dispose();
                    throw new BrokerUnavailableException($"cannot connect to the broker at {broker}: {ex.Message}", ex);
                }
                if (result.ResultCode != MqttClientConnectResultCode.Success)
                {
                    client.Dispose();
                    throw new BrokerUnavailableException($"the broker at {broker} refused the connection: {result.ResultCode} {result.ReasonString}");
                }
                // Receive maximum 0 means "not announced", i.e. the protocol's 65,535.
                var window = result.ReceiveMaximum is > 0 and var max ? Math.Min(options.InFlightPerConnection, (int)max) : options.InFlightPerConnection;
                connections.Add(new Connection(client, Math.Max(1, window)));
            }
            publisher = new MqttPublisher([.. connections]);
            foreach (var c in connections)
            {
                c.Completion = new Completion(publisher, c);
            }
        }
        catch
        {
            foreach (var c in connections)
            {
                c.Client.Dispose();
            }
            throw;
        }
        return publisher;
    }

    /// <summary>
    /// Starts a QoS 1 publish on the connection for <paramref name="partition"/> once it has a free slot, and returns
    /// without waiting for the broker's acknowledgement.
    /// </summary>
    public async ValueTask PublishAsync(string topic, byte[] payload, int partition, CancellationToken ct)
    {
        if (_failure is { } f)
        {
            throw new BrokerUnavailableException($"publishing failed: {f.Message}", f);
        }
        var c = _connections[(int)((uint)partition % (uint)_connections.Length)];
        await c.Slots.WaitAsync(ct);
        var message = new MqttApplicationMessage
        {
            Topic = topic,
            Payload = new System.Buffers.ReadOnlySequence<byte>(payload),
            QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
        };
        Task<MqttClientPublishResult> publish;
        try
        {
            publish = c.Client.PublishAsync(message, CancellationToken.None);
        }
        catch (MQTTnet.Exceptions.MqttCommunicationException ex)
        {
            // The connection is gone (broker stopped, network down): the one-line error of the command line.
            c.Slots.Release();
            throw new BrokerUnavailableException($"publishing failed: {ex.Message}", ex);
        }
        catch
        {
            c.Slots.Release();
            throw;
        }
        _ = publish.ContinueWith(static (t, state) => ((Completion)state!).Complete(t), c.Completion, CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Publishes by topic: the same topic always uses the same connection.</summary>
    public ValueTask PublishAsync(string topic, byte[] payload, CancellationToken ct) =>
        PublishAsync(topic, payload, StringComparer.Ordinal.GetHashCode(topic), ct);

    /// <summary>Waits until every publish so far is acknowledged; throws the first failure.</summary>
    public async Task FlushAsync(CancellationToken ct)
    {
        foreach (var c in _connections)
        {
            for (var i = 0; i < c.Window; i++)
            {
                await c.Slots.WaitAsync(ct);
            }
            c.Slots.Release(c.Window);
        }
        if (_failure is { } f)
        {
            throw new BrokerUnavailableException($"publishing failed: {f.Message}", f);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _connections)
        {
            try
            {
                if (c.Client.IsConnected)
                {
                    await c.Client.DisconnectAsync();
                }
            }
            catch (MQTTnet.Exceptions.MqttCommunicationException)
            {
                // The broker went away first; nothing left to close politely.
            }
            c.Client.Dispose();
            c.Slots.Dispose();
        }
    }

    private sealed class Connection(IMqttClient client, int window)
    {
        public IMqttClient Client { get; } = client;

        public int Window { get; } = window;

        public SemaphoreSlim Slots { get; } = new(window, window);

        /// <summary>One continuation state per connection: no allocation per publish for it.</summary>
        public Completion Completion { get; set; } = null!;
    }

    private sealed class Completion(MqttPublisher owner, Connection connection)
    {
        public void Complete(Task<MqttClientPublishResult> t)
        {
            if (t.IsCompletedSuccessfully && t.Result.IsSuccess)
            {
                Interlocked.Increment(ref owner._acknowledged);
            }
            else
            {
                var error = t.Exception?.GetBaseException()
                    ?? new InvalidOperationException(t.IsCanceled ? "publish cancelled" : $"broker answered {t.Result.ReasonCode} {t.Result.ReasonString}");
                Interlocked.CompareExchange(ref owner._failure, error, null);
            }
            connection.Slots.Release();
        }
    }
}

/// <summary>The broker cannot be reached or stopped accepting messages: a clear one-line error for the command line.</summary>
internal sealed class BrokerUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
