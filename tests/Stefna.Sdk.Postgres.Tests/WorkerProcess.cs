using System.Diagnostics;
using Stefna.TestUtils;

namespace Stefna.Sdk.Postgres.Tests;

/// <summary>A worker host (tests/Stefna.Sdk.Postgres.WorkerHost) running as its own OS process.</summary>
internal sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private WorkerProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public string Output
    {
        get
        {
            lock (_lines)
            {
                return string.Join('\n', _lines);
            }
        }
    }

    public static WorkerProcess Start(params string[] args) => Start(new Dictionary<string, string>(), args);

    /// <summary>Starts the host with extra environment variables (fault injection).</summary>
    public static WorkerProcess Start(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Stefna.Sdk.Postgres.WorkerHost.dll");
        Assert.True(File.Exists(dll), $"worker host not built next to the tests: {dll}");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return new WorkerProcess(Process.Start(start)!);
    }

    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        if (await Task.WhenAny(_ready.Task, Task.Delay(timeout)) != _ready.Task)
        {
            throw new TimeoutException($"worker {Id} did not get ready within {timeout}. Output:\n{Output}");
        }
    }

    public void Go() => _process.StandardInput.WriteLine("go");

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"worker {Id} did not exit within {timeout}. Output:\n{Output}");
        }

        return _process.ExitCode;
    }

    /// <summary>Starts two workers with the same arguments (which must include <c>--wait-for-go</c>), lets both go at once
    /// when both are ready, and waits for both to exit with code 0 (failing with both outputs otherwise).</summary>
    /// <returns>The two exited workers, for their ids and output; the caller disposes them.</returns>
    public static async Task<(WorkerProcess First, WorkerProcess Second)> RunTwoAsync(string[] args, TimeSpan startTimeout, TimeSpan exitTimeout)
    {
        var first = Start(args);
        var second = Start(args);
        try
        {
            await Task.WhenAll(first.WaitReadyAsync(startTimeout), second.WaitReadyAsync(startTimeout));
            first.Go();
            second.Go();
            var exits = await Task.WhenAll(first.WaitForExitAsync(exitTimeout), second.WaitForExitAsync(exitTimeout));
            Assert.True(exits.All(e => e == 0), $"exit codes {string.Join(",", exits)}\n{first.Output}\n{second.Output}");
            return (first, second);
        }
        catch
        {
            first.Dispose();
            second.Dispose();
            throw;
        }
    }

    /// <summary>SIGKILL: no shutdown code runs, no lease is handed back.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lines)
        {
            _lines.Add(line);
        }

        if (line.StartsWith("READY", StringComparison.Ordinal))
        {
            _ready.TrySetResult();
        }
    }
}

/// <summary>The classes that run worker host processes (two at a time each) run one after another, not beside each
/// other: on 2 cores four hosts at once would starve each other and the test process.</summary>
[CollectionDefinition(Name)]
public sealed class WorkerProcesses
{
    public const string Name = "postgres-worker-processes";
}
