using System.Collections.Concurrent;
using System.Diagnostics;

namespace Dcis.Crisis.Testing;

/// <summary>
/// The last lines a child process wrote, stdout and stderr together, for the messages of failing tests
/// and for tests that wait for a line.
/// </summary>
public sealed class ProcessOutput(int keep)
{
    private readonly ConcurrentQueue<string> _lines = new();

    /// <summary>Starts the process with both of its streams read into these lines.</summary>
    public Process Start(ProcessStartInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Add(e.Data);
        process.ErrorDataReceived += (_, e) => Add(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Adds a line of the test's own (e.g. what it did to the process), dropping the oldest past the limit.</summary>
    public void Add(string? line)
    {
        if (line is null)
        {
            return;
        }

        _lines.Enqueue(line);
        while (_lines.Count > keep && _lines.TryDequeue(out _))
        {
        }
    }

    /// <summary>The kept lines, oldest first.</summary>
    public override string ToString() => string.Join('\n', _lines);
}
