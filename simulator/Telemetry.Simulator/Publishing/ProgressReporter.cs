using System.Globalization;

namespace Telemetry.Simulator.Publishing;

/// <summary>A count shared between the publishing loop and the progress line.</summary>
internal sealed class Counter
{
    private long _value;

    public long Value => Interlocked.Read(ref _value);

    public void Increment() => Interlocked.Increment(ref _value);
}

/// <summary>
/// Prints progress (sent, rate, elapsed) once a second while a long run goes on: one line rewritten in place on a
/// terminal, plain lines when the output is redirected (logs and CI keep every line readable).
/// </summary>
internal sealed class ProgressReporter : IAsyncDisposable
{
    private readonly TextWriter _output;
    private readonly bool _interactive;
    private readonly Counter _sent;
    private readonly TimeProvider _time;
    private readonly long _started;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private bool _printed;

    private ProgressReporter(TextWriter output, bool interactive, Counter sent, TimeProvider time, TimeSpan interval)
    {
        _output = output;
        _interactive = interactive;
        _sent = sent;
        _time = time;
        _started = time.GetTimestamp();
        _loop = LoopAsync(interval);
    }

    public static ProgressReporter Start(TextWriter output, bool interactive, Counter sent, TimeProvider time, TimeSpan? interval = null) =>
        new(output, interactive, sent, time, interval ?? TimeSpan.FromSeconds(1));

    public TimeSpan Elapsed => _time.GetElapsedTime(_started);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        if (_interactive && _printed)
        {
            await _output.WriteLineAsync();
        }
        _stop.Dispose();
    }

    private async Task LoopAsync(TimeSpan interval)
    {
        using var timer = new PeriodicTimer(interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                var line = Line(_sent.Value, Elapsed);
                if (_interactive)
                {
                    await _output.WriteAsync("\r" + line.PadRight(60));
                }
                else
                {
                    await _output.WriteLineAsync(line);
                }
                await _output.FlushAsync();
                _printed = true;
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped by DisposeAsync.
        }
    }

    internal static string Line(long sent, TimeSpan elapsed)
    {
        var rate = elapsed.TotalSeconds > 0 ? sent / elapsed.TotalSeconds : 0;
        return string.Create(CultureInfo.InvariantCulture, $"sent {sent:N0}  rate {rate:N0}/s  elapsed {elapsed:hh\\:mm\\:ss}");
    }
}
