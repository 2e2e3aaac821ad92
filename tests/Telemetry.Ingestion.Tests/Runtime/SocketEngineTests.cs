using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests.Runtime;

public sealed class SocketEngineTests
{
    [Fact]
    public async Task TheServiceRunsSocketCompletionsInlineUnlessTheEnvironmentTurnsItOff()
    {
        // With inline completions the runtime starts one socket engine thread per core, otherwise one: so the threads
        // show which way the service runs (on a one-core machine both are one).
        var influx = await InfluxServer.SharedAsync();
        var db = InfluxServer.NewDatabaseName("sockets");
        await using var service = new IngestionService(null, FreePort.Next(), influx.Url, db);
        await service.StartAndWaitReadyAsync();
        Assert.Equal(Environment.ProcessorCount, SocketEngineThreads(service.Process.Pid));

        await service.Process.StopAsync(TimeSpan.FromSeconds(60));
        service.Set(SocketEngine.InlineCompletionsVariable, "0");
        service.Renew();
        await service.StartAndWaitReadyAsync();
        Assert.Equal(1, SocketEngineThreads(service.Process.Pid));
    }

    [Fact]
    public async Task ToThreadPool_FromAThreadOutsideThePool_ContinuesOnThePool()
    {
        var done = new TaskCompletionSource<(bool Before, bool After)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() => _ = Hop(done)) { IsBackground = true, Name = "not-a-pool-thread" };
        thread.Start();
        var (before, after) = await done.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(before);
        Assert.True(after);
    }

    [Fact]
    public async Task ToThreadPool_OnAPoolThread_StaysOnIt()
    {
        var (thread, same) = await Task.Run(async () =>
        {
            var id = Environment.CurrentManagedThreadId;
            await SocketEngine.ToThreadPool();
            return (Thread.CurrentThread.IsThreadPoolThread, Environment.CurrentManagedThreadId == id);
        });
        Assert.True(thread);
        Assert.True(same);
    }

    private static async Task Hop(TaskCompletionSource<(bool, bool)> done)
    {
        var before = Thread.CurrentThread.IsThreadPoolThread;
        await SocketEngine.ToThreadPool();
        done.SetResult((before, Thread.CurrentThread.IsThreadPoolThread));
    }

    private static int SocketEngineThreads(int pid) =>
        Directory.GetDirectories($"/proc/{pid}/task")
            .Count(t => File.ReadAllText(Path.Combine(t, "comm")).Trim() == ".NET Sockets");
}
