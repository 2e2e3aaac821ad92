namespace Telemetry.Ingestion.Storage;

/// <summary>How a write request ended, by what the service should do next (STYLE habit 9).</summary>
internal enum WriteStatus : byte
{
    Ok,
    /// <summary>Connection error, timeout, 5xx, 429, 404 (target missing): retry the same batch with backoff (honouring Retry-After).</summary>
    Transient,
    /// <summary>413: split the batch.</summary>
    TooLarge,
    /// <summary>400 and other 4xx: some point is bad; bisect to store the good ones and quarantine the bad.</summary>
    Rejected,
    /// <summary>401/403: report loudly, retry slowly.</summary>
    Auth,
}

internal readonly record struct WriteOutcome(WriteStatus Status, string Detail = "", TimeSpan? RetryAfter = null)
{
    public static readonly WriteOutcome Ok = new(WriteStatus.Ok);

    public static WriteOutcome FromStatus(int status, string detail, TimeSpan? retryAfter) => status switch
    {
        >= 200 and < 300 => Ok,
        401 or 403 => new(WriteStatus.Auth, detail),
        413 => new(WriteStatus.TooLarge, detail),
        // 404: the target (bucket, org, database, path) is missing, which says nothing about the points: keep them and
        // retry until an operator creates it, never quarantine (the quarantine row would get the same 404 and be lost).
        429 or >= 500 or 0 or 408 or 404 => new(WriteStatus.Transient, detail, retryAfter),
        _ => new(WriteStatus.Rejected, detail),
    };
}

/// <summary>Sends line protocol to one InfluxDB. One implementation per API version; no retries in here.</summary>
internal interface IInfluxWriter : IDisposable
{
    /// <summary>Describes the target for logs, without secrets.</summary>
    string Describe { get; }

    /// <summary>Prepares the target (1.x: creates the database if missing). Throws when unreachable.</summary>
    Task PrepareAsync(CancellationToken ct);

    Task<WriteOutcome> WriteAsync(IReadOnlyList<ReadOnlyMemory<byte>> lines, CancellationToken ct);

    Task<bool> PingAsync(CancellationToken ct);
}
