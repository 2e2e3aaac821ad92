using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Telemetry.Testing;

/// <summary>
/// A child process the tests own: started with arguments and environment, its output captured for failure
/// messages, stopped (TERM, then KILL) on dispose and when the test process exits.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private static readonly List<ServerProcess> Live = [];
    private readonly StringBuilder _output = new();
    private readonly ProcessStartInfo _startInfo;
    private Process? _process;

    static ServerProcess() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        lock (Live)
        {
            foreach (var p in Live.ToArray())
            {
                p.KillNow();
            }
        }
    };

    public ServerProcess(string name, string fileName, IEnumerable<string> arguments, IDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        Name = name;
        _startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var a in arguments)
        {
            _startInfo.ArgumentList.Add(a);
        }
        foreach (var (k, v) in environment ?? new Dictionary<string, string?>())
        {
            _startInfo.Environment[k] = v;
        }
    }

    public string Name { get; }

    public int Pid => _process?.Id ?? 0;

    public bool IsRunning => _process is { HasExited: false };

    public int? ExitCode => _process is { HasExited: true } p ? p.ExitCode : null;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Raised for every line the process writes (stdout and stderr).</summary>
    public event Action<string>? Line;

    public void Start()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"{Name} is already running");
        }
        var p = new Process { StartInfo = _startInfo, EnableRaisingEvents = true };
        p.OutputDataReceived += (_, e) => Append(e.Data);
        p.ErrorDataReceived += (_, e) => Append(e.Data);
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _process = p;
        lock (Live)
        {
            Live.Add(this);
        }
    }

    /// <summary>Sends a POSIX signal (SIGTERM 15, SIGKILL 9, SIGSTOP 19, SIGCONT 18).</summary>
    public void Signal(int signal)
    {
        if (_process is { HasExited: false } p && Native.kill(p.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({p.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public const int SigKill = 9;
    public const int SigTerm = 15;
    public const int SigCont = 18;
    public const int SigStop = 19;

    /// <summary>Waits (bounded) for the process to exit and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        var p = _process ?? throw new InvalidOperationException($"{Name} was never started");
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Name} did not exit within {timeout.TotalSeconds} s. Output:\n{Tail()}");
        }
        return p.ExitCode;
    }

    /// <summary>SIGTERM, then SIGKILL if it has not exited within <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan? grace = null)
    {
        if (_process is not { HasExited: false } p)
        {
            return;
        }
        Signal(SigCont);
        Signal(SigTerm);
        using var cts = new CancellationTokenSource(grace ?? TimeSpan.FromSeconds(15));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            KillNow();
            await p.WaitForExitAsync();
        }
    }

    public async Task KillAsync()
    {
        if (_process is { HasExited: false } p)
        {
            KillNow();
            await p.WaitForExitAsync();
        }
    }

    /// <summary>The last lines of output, for assertion messages.</summary>
    public string Tail(int lines = 60)
    {
        var all = Output.Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(10));
        lock (Live)
        {
            Live.Remove(this);
        }
        _process?.Dispose();
    }

    private void KillNow()
    {
        try
        {
            if (_process is { HasExited: false } p)
            {
                _ = Native.kill(p.Id, SigCont); // a frozen process must run to die
                p.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
        }
        Line?.Invoke(line);
    }

    private static class Native
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int kill(int pid, int sig);
    }
}
