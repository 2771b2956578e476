using System.Diagnostics;
using System.Globalization;

namespace Dcis.Crisis.Launcher;

/// <summary>
/// A child process whose every output line is printed with a prefix (the app id). When it fails
/// without having been asked to stop (a crash, <c>kill -9</c>, out of memory: a non-zero exit), it is
/// started again with the same command, environment and ports, as an orchestrator's on-failure
/// restart policy would: the
/// system's durability (outbox, inbox, unacknowledged stream entries, Redis AOF) is what makes the
/// restart lose and duplicate nothing, and the end-to-end fault tests rely on exactly that.
/// </summary>
public sealed class ChildProcess : IDisposable
{
    private static readonly Lock ConsoleLock = new();
    private static volatile bool _shuttingDown;

    private readonly ProcessStartInfo _info;
    private readonly bool _restartOnExit;
    private readonly Lock _gate = new();
    private Process _process;
    private bool _stopping;
    private int _restarts;
    private int _quickFailures;
    private DateTime _startedAt;

    private ChildProcess(string prefix, ProcessStartInfo info, bool restartOnExit)
    {
        Prefix = prefix;
        _info = info;
        _restartOnExit = restartOnExit;
        _process = Launch();
    }

    public string Prefix { get; }

    public bool HasExited
    {
        get
        {
            lock (_gate)
            {
                return _process.HasExited;
            }
        }
    }

    /// <summary>How many times the process was started again after dying on its own.</summary>
    public int Restarts => Volatile.Read(ref _restarts);

    public static ChildProcess Start(string prefix, string fileName, IEnumerable<string> args, string workingDirectory,
        IReadOnlyDictionary<string, string>? env = null, bool restartOnExit = true)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in env ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        return new ChildProcess(prefix, info, restartOnExit);
    }

    /// <summary>
    /// Called as soon as Ctrl-C or SIGTERM reaches the launcher: a terminal's Ctrl-C also reaches every
    /// child, and a child that exits because of it must not be restarted.
    /// </summary>
    public static void BeginShutdown() => _shuttingDown = true;

    public static void Print(string prefix, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (ConsoleLock)
        {
            Console.Out.WriteLine($"{prefix,-22} | {line}");
        }
    }

    /// <summary>SIGTERM, then SIGKILL if it has not exited within <paramref name="grace"/>. No restart after this.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        Process process;
        lock (_gate)
        {
            _stopping = true;
            process = _process;
        }

        if (process.HasExited)
        {
            return;
        }

        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var cts = new CancellationTokenSource(grace);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Print(Prefix, "did not stop in time; killed");
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            _process.Dispose();
        }
    }

    private Process Launch()
    {
        _startedAt = DateTime.UtcNow;
        var process = new Process { StartInfo = _info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Print(Prefix, e.Data);
        process.ErrorDataReceived += (_, e) => Print(Prefix, e.Data);
        process.Exited += (_, _) => _ = OnExitedAsync(process);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private async Task OnExitedAsync(Process exited)
    {
        int code;
        TimeSpan delay;
        lock (_gate)
        {
            if (_stopping || _shuttingDown || !_restartOnExit || !ReferenceEquals(exited, _process))
            {
                return;
            }

            code = exited.ExitCode;
            if (code == 0)
            {
                Print(Prefix, "exited (code 0); not restarted");
                return;
            }

            // A process that ran for a while restarts at once; one that keeps dying at start backs off
            // 1, 2, 4 … 30 s so it does not spin the machine.
            _quickFailures = DateTime.UtcNow - _startedAt > TimeSpan.FromSeconds(60) ? 0 : _quickFailures + 1;
            delay = _quickFailures == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, Math.Min(_quickFailures - 1, 5))));
        }

        var restarts = Interlocked.Increment(ref _restarts);
        Print(Prefix, $"exited unexpectedly (code {code}); restart {restarts} in {delay.TotalSeconds:0} s");
        await Task.Delay(delay);
        lock (_gate)
        {
            if (_stopping || _shuttingDown)
            {
                return;
            }

            var previous = _process;
            _process = Launch();
            previous.Dispose();
            Print(Prefix, $"restarted (pid {_process.Id})");
        }
    }
}
