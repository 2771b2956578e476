using System.Diagnostics;
using System.Text;
using Dcis.Crisis.Shared.Security;
using Dcis.Crisis.Testing;
using Grpc.Core;
using Grpc.Net.Client;

namespace Dcis.Crisis.EndToEnd.Tests;

/// <summary>
/// Every process of the system, started the way <c>deploy/up.sh</c> starts them: the launcher reads
/// deploy/dapr.yaml and runs a private redis-server, a dev sidecar per app and each service as its own
/// process, on a fresh data directory. Ports are the ones in deploy/dapr.yaml.
/// </summary>
public sealed class CrisisSystem : IAsyncDisposable
{
    public static readonly (string App, int Port)[] HealthEndpoints =
    [
        ("threat-levels", 5100), ("consular", 5200), ("advisories", 5300), ("notifications", 5400), ("dashboard", 5501),
    ];

    private readonly StringBuilder _output = new();
    private readonly TempDirectory _data = new("dcis-e2e");
    private Process? _launcher;

    public string DataDir => _data.Path;

    public string TraceFile => Path.Combine(_data.Path, "traces.jsonl");

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

    public async Task StartAsync()
    {
        var root = Repository.Root;
        var launcher = Path.Combine(root, "deploy/local/Launcher/bin/Release/net10.0/Dcis.Crisis.Launcher.dll");
        if (!File.Exists(launcher))
        {
            throw new InvalidOperationException($"{launcher} is not built: run `dotnet build -c Release Dcis.Crisis.sln` (deploy/test.sh does)");
        }

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        // A private redis-server always: a Redis left running on the component's default address would carry
        // streams of earlier runs.
        foreach (var arg in new[] { launcher, "--file", Path.Combine(root, "deploy/dapr.yaml"), "--data-dir", DataDir, "--private-redis" })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["CRISIS_TRACE_FILE"] = TraceFile;
        _launcher = Process.Start(start)!;
        _launcher.OutputDataReceived += (_, e) => Append(e.Data);
        _launcher.ErrorDataReceived += (_, e) => Append(e.Data);
        _launcher.BeginOutputReadLine();
        _launcher.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        foreach (var (app, port) in HealthEndpoints.Concat([("sms-sink", 5410), ("mail-sink", 5420)]))
        {
            var path = app.EndsWith("-sink", StringComparison.Ordinal) ? "/api/messages" : "/healthz";
            await Eventually.TrueAsync(async () =>
            {
                if (_launcher.HasExited)
                {
                    throw new InvalidOperationException("launcher exited:\n" + Output);
                }

                return await AnswersAsync(http, new Uri($"http://127.0.0.1:{port}{path}"));
            }, TimeSpan.FromMinutes(4), () => $"{app} healthy on {port}; launcher output:\n{Output}");
        }
    }

    public string Token(string role, string subject, string? postId = null, string? companyId = null, string? registrantId = null, IReadOnlyList<string>? countries = null) =>
        DevTokens.Mint(DevTokens.LoadOrCreateKey(DataDir), new TokenRequest(subject, [role])
        {
            PostId = postId, CompanyId = companyId, RegistrantId = registrantId, Countries = countries,
        });

    /// <summary>
    /// <c>kill -9</c> of one process the launcher started (found among its descendants by command
    /// line), then waits until the launcher has started a new one. Returns the new process id.
    /// </summary>
    public async Task<int> KillAndAwaitRestartAsync(string what, Func<IReadOnlyList<string>, bool> matches)
    {
        var victim = Descendants().Where(p => matches(p.CommandLine)).Select(p => p.Pid).ToList();
        Assert.True(victim.Count == 1, $"expected one {what} process, found {victim.Count}");
        using (var kill = Process.Start("kill", ["-9", victim[0].ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        Append($"[e2e] kill -9 {what} (pid {victim[0]})");
        var restarted = 0;
        await Eventually.TrueAsync(() =>
        {
            restarted = Descendants().Where(p => p.Pid != victim[0] && matches(p.CommandLine)).Select(p => p.Pid).FirstOrDefault();
            return restarted != 0;
        }, TimeSpan.FromMinutes(2), () => $"the launcher restarts {what}; launcher output:\n{Output}");
        Append($"[e2e] {what} restarted (pid {restarted})");
        return restarted;
    }

    /// <summary>The service process of an app (<c>dotnet …/Dcis.Crisis.Consular.dll</c>).</summary>
    public static Func<IReadOnlyList<string>, bool> App(string assembly) =>
        cmd => cmd.Count > 1 && cmd[1].EndsWith(assembly, StringComparison.Ordinal);

    /// <summary>The sidecar of an app (dev sidecar or daprd started with <c>--app-id</c>).</summary>
    public static Func<IReadOnlyList<string>, bool> Sidecar(string appId) =>
        cmd => cmd.Any(a => a.EndsWith("dev-sidecar.dll", StringComparison.Ordinal) || a.EndsWith("daprd", StringComparison.Ordinal))
            && cmd.SkipWhile(a => a != "--app-id").Skip(1).FirstOrDefault() == appId;

    /// <summary>The launcher's private redis-server (it rewrites its command line to "redis-server host:port").</summary>
    public static bool Redis(IReadOnlyList<string> cmd) => cmd.Count > 0 && cmd[0].Contains("redis-server", StringComparison.Ordinal);

    /// <summary>Waits until an app answers its health endpoint again.</summary>
    public static async Task WaitHealthyAsync(string app)
    {
        var port = HealthEndpoints.Single(e => e.App == app).Port;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await Eventually.TrueAsync(() => AnswersAsync(http, new Uri($"http://127.0.0.1:{port}/healthz")), TimeSpan.FromMinutes(2), $"{app} healthy again on {port}");
    }

    /// <summary>True when the URL answers with a success status; false while the process is not listening or too slow.</summary>
    private static async Task<bool> AnswersAsync(HttpClient http, Uri url)
    {
        try
        {
            return (await http.GetAsync(url)).IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException)
        {
            return false;
        }
    }

    private List<(int Pid, IReadOnlyList<string> CommandLine)> Descendants()
    {
        var parents = new Dictionary<int, int>();
        var commands = new Dictionary<int, IReadOnlyList<string>>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces, so read after the last ')'.
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                parents[pid] = int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture);
                commands[pid] = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries);
            }
            catch (IOException)
            {
                // The process ended while being read.
            }
            catch (UnauthorizedAccessException)
            {
                // Not ours.
            }
        }

        var root = _launcher?.Id ?? -1;
        bool Under(int pid)
        {
            for (var hops = 0; hops < 16 && parents.TryGetValue(pid, out var parent); hops++)
            {
                if (parent == root)
                {
                    return true;
                }

                pid = parent;
            }

            return false;
        }

        return [.. commands.Where(c => Under(c.Key)).Select(c => (c.Key, c.Value))];
    }

    public static CallOptions As(string token) => new(new Metadata { { "Authorization", $"Bearer {token}" } }, DateTime.UtcNow.AddMinutes(2));

    public static GrpcChannel Channel(int port) => GrpcChannel.ForAddress($"http://127.0.0.1:{port}");

    public async ValueTask DisposeAsync()
    {
        if (_launcher is { HasExited: false })
        {
            // SIGINT lets the launcher stop every child cleanly; kill the tree if it does not.
            using (var interrupt = Process.Start("kill", ["-INT", _launcher.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await interrupt.WaitForExitAsync();
            }

            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _launcher.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                _launcher.Kill(entireProcessTree: true);
            }
        }

        _launcher?.Dispose();
        _data.Dispose();
    }

    public void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
