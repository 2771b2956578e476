using System.Diagnostics;
using System.Globalization;

namespace Dcis.Crisis.Launcher;

/// <summary>A child process whose every output line is printed with a prefix (the app id).</summary>
public sealed class ChildProcess(string prefix, Process process) : IDisposable
{
    private static readonly Lock ConsoleLock = new();

    public string Prefix { get; } = prefix;
    public bool HasExited => process.HasExited;

    public static ChildProcess Start(string prefix, string fileName, IEnumerable<string> args, string workingDirectory, IReadOnlyDictionary<string, string>? env = null)
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

        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Print(prefix, e.Data);
        process.ErrorDataReceived += (_, e) => Print(prefix, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ChildProcess(prefix, process);
    }

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

    /// <summary>SIGTERM, then SIGKILL if it has not exited within <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
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

    public void Dispose() => process.Dispose();
}
