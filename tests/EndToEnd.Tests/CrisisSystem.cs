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

    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Dcis.Crisis.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    public async Task StartAsync()
    {
        var root = RepositoryRoot();
        var launcher = Path.Combine(root, "deploy/local/Launcher/bin/Release/net10.0/Dcis.Crisis.Launcher.dll");
        if (!File.Exists(launcher))
        {
            throw new InvalidOperationException($"{launcher} is not built: run `dotnet build -c Release Dcis.Crisis.sln` (deploy/test.sh does)");
        }

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        foreach (var arg in new[] { launcher, "--file", Path.Combine(root, "deploy/dapr.yaml"), "--data-dir", DataDir })
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

                try
                {
                    return (await http.GetAsync(new Uri($"http://127.0.0.1:{port}{path}"))).IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
                catch (TaskCanceledException)
                {
                    return false;
                }
            }, TimeSpan.FromMinutes(4), $"{app} healthy on {port}\n{Output}");
        }
    }

    public string Token(string role, string subject, string? postId = null, string? companyId = null, string? registrantId = null, IReadOnlyList<string>? countries = null) =>
        DevTokens.Mint(DevTokens.LoadOrCreateKey(DataDir), new TokenRequest(subject, [role])
        {
            PostId = postId, CompanyId = companyId, RegistrantId = registrantId, Countries = countries,
        });

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
    }
}
