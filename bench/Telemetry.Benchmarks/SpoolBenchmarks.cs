using BenchmarkDotNet.Attributes;
using FASTER.core;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Telemetry.Ingestion.Configuration;
using Telemetry.Ingestion.Metrics;
using Telemetry.Ingestion.Spool;

namespace Telemetry.Benchmarks;

/// <summary>
/// Durable append throughput of the three spool candidates of issue 3, on the same group commit: one record holding
/// 1,000 line-protocol readings (~100 KB), made durable before the call returns. Figures are per reading
/// (OperationsPerInvoke = 1,000), so readings/s durable = 1e9 / mean ns. Files live in a fresh folder under
/// BENCH_SPOOL_TMP (default: the temp folder), on the same disk as the service's spool would be.
/// </summary>
public class SpoolBenchmarks
{
    private const int Lines = 1000;
    private string _dir = "";
    private byte[] _payload = [];
    private readonly SpoolBatch _batch = new();
    private DurableSpool _segments = null!;
    private IDevice _fasterDevice = null!;
    private FasterLog _faster = null!;
    private SqliteConnection _sqlite = null!;
    private SqliteCommand _insert = null!;
    private long _createdMs;

    [GlobalSetup]
    public void Setup()
    {
        var root = Environment.GetEnvironmentVariable("BENCH_SPOOL_TMP") is { Length: > 0 } t ? t : Path.GetTempPath();
        _dir = Path.Combine(root, $"spool-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(_dir);
        _payload = Payloads.LineProtocolBatch(Lines);
        foreach (var line in System.Text.Encoding.UTF8.GetString(_payload).Split('\n'))
        {
            _batch.Add(line, isReading: true);
        }

        _segments = new DurableSpool(
            Options.Create(new SpoolOptions { Directory = Path.Combine(_dir, "segments"), MaxBytes = long.MaxValue, SegmentBytes = 64L * 1024 * 1024 }),
            new IngestMetrics(), NullLogger<DurableSpool>.Instance);

        // FasterLog: one entry per group commit; CommitAsync returns once the entry and the commit record are on
        // the device. The log device is opened with file buffering disabled (the library's default).
        var fasterDir = Path.Combine(_dir, "faster");
        _fasterDevice = Devices.CreateLogDevice(Path.Combine(fasterDir, "spool.log"));
        _faster = new FasterLog(new FasterLogSettings { LogDevice = _fasterDevice, LogCommitDir = fasterDir, PageSizeBits = 22, MemorySizeBits = 24 });

        // SQLite in WAL mode with synchronous=FULL: every committed transaction's WAL frames are fsynced.
        _sqlite = new SqliteConnection($"Data Source={Path.Combine(_dir, "spool.db")};Pooling=False");
        _sqlite.Open();
        Exec("PRAGMA journal_mode=WAL;");
        Exec("PRAGMA synchronous=FULL;");
        Exec("CREATE TABLE spool(id INTEGER PRIMARY KEY, created INTEGER NOT NULL, lines INTEGER NOT NULL, payload BLOB NOT NULL);");
        _insert = _sqlite.CreateCommand();
        _insert.CommandText = "INSERT INTO spool(created, lines, payload) VALUES ($created, $lines, $payload);";
        _insert.Parameters.Add("$created", SqliteType.Integer);
        _insert.Parameters.Add("$lines", SqliteType.Integer).Value = Lines;
        _insert.Parameters.Add("$payload", SqliteType.Blob).Value = _payload;
        _insert.Prepare();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _segments.Dispose();
        _faster.Dispose();
        _fasterDevice.Dispose();
        _insert.Dispose();
        _sqlite.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(Description = "segment files (ours): append 1,000 lines + fsync", OperationsPerInvoke = Lines)]
    public ValueTask SegmentFiles()
    {
        _batch.CreatedMs = ++_createdMs;
        return _segments.AppendAsync(_batch, CancellationToken.None);
    }

    [Benchmark(Description = "FasterLog: enqueue 1,000 lines + CommitAsync", OperationsPerInvoke = Lines)]
    public async ValueTask FasterLogCommit()
    {
        _faster.Enqueue(_payload);
        await _faster.CommitAsync();
    }

    [Benchmark(Description = "SQLite WAL synchronous=FULL: insert 1,000 lines", OperationsPerInvoke = Lines)]
    public int SqliteWal()
    {
        _insert.Parameters[0].Value = ++_createdMs;
        return _insert.ExecuteNonQuery();
    }

    private void Exec(string sql)
    {
        using var c = _sqlite.CreateCommand();
        c.CommandText = sql;
        c.ExecuteNonQuery();
    }
}
