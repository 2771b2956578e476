using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Dcis.Crisis.Testing;

namespace Dcis.Crisis.Notifications.Tests.Fault;

/// <summary>The notifications service as a real child process (<c>dotnet Dcis.Crisis.Notifications.dll</c>),
/// configured through environment variables as the launcher does, so a test can kill it with SIGKILL.</summary>
public sealed class NotificationsProcess : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _output = new();
    private Process? _process;

    private NotificationsProcess(string dataDir, IReadOnlyDictionary<string, string> environment)
    {
        DataDir = dataDir;
        Environment = environment;
    }

    public string DataDir { get; }

    public IReadOnlyDictionary<string, string> Environment { get; }

    public int HttpPort { get; private set; }

    public Uri HttpAddress => new($"http://127.0.0.1:{HttpPort}");

    public string Output => string.Join('\n', _output);

    public static async Task<NotificationsProcess> StartAsync(string dataDir, IReadOnlyDictionary<string, string> environment)
    {
        var process = new NotificationsProcess(dataDir, environment);
        await process.LaunchAsync();
        return process;
    }

    /// <summary>The newest build of the service next to this repository's solution.</summary>
    public static string LocateDll()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Dcis.Crisis.sln")))
        {
            dir = dir.Parent;
        }

        if (dir is null)
        {
            throw new FileNotFoundException("Dcis.Crisis.sln not found above " + AppContext.BaseDirectory);
        }

        return new[] { "Debug", "Release" }
            .Select(c => Path.Combine(dir.FullName, "services", "Notifications", "bin", c, "net10.0", "Dcis.Crisis.Notifications.dll"))
            .Where(File.Exists)
            .OrderByDescending(File.GetLastWriteTimeUtc)
            .FirstOrDefault() ?? throw new FileNotFoundException("Dcis.Crisis.Notifications.dll is not built");
    }

    public async Task LaunchAsync()
    {
        HttpPort = FreePort.Next();
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(LocateDll());
        info.Environment["APP_PORT"] = HttpPort.ToString(CultureInfo.InvariantCulture);
        info.Environment["GRPC_PORT"] = FreePort.Next().ToString(CultureInfo.InvariantCulture);
        info.Environment["DATA_DIR"] = DataDir;
        info.Environment["Logging__LogLevel__Default"] = "Error";
        info.Environment["DAPR_GRPC_PORT"] = FreePort.Next().ToString(CultureInfo.InvariantCulture);
        info.Environment["DAPR_HTTP_PORT"] = FreePort.Next().ToString(CultureInfo.InvariantCulture);
        foreach (var (key, value) in Environment)
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException("notifications exited at start:\n" + Output);
            }

            try
            {
                using var response = await http.GetAsync(new Uri(HttpAddress, "/healthz"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("notifications did not become healthy:\n" + Output);
            }

            await Task.Delay(100);
        }
    }

    /// <summary>SIGKILL: no shutdown hooks, no flush, exactly what a crash or OOM kill does.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
            while (_output.Count > 500 && _output.TryDequeue(out _))
            {
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
    }
}
