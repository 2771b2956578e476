using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace Dcis.Crisis.DevSidecar.Tests;

/// <summary>
/// The launcher (deploy/local/Launcher) as a real process on a small dapr.yaml: one app
/// (<see cref="LauncherApp"/>) on free ports with the dev sidecar.
/// </summary>
public sealed class LauncherRun : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _output = new();
    private readonly Process _process;

    private LauncherRun(Process process) => _process = process;

    public string Output => string.Join('\n', _output);

    /// <summary>deploy/local/Launcher/bin/{Debug|Release}/net10.0/Dcis.Crisis.Launcher.dll, the newest build.</summary>
    public static string LocateDll() =>
        Repository.NewestBuild("deploy/local/Launcher", "Dcis.Crisis.Launcher.dll") ?? throw new FileNotFoundException("the launcher is not built (dotnet build deploy/local/Launcher)");

    /// <summary>Starts the launcher and waits until it reports every app healthy.</summary>
    public static async Task<LauncherRun> StartAsync(string runFile, string dataDir)
    {
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { LocateDll(), "--file", runFile, "--data-dir", dataDir })
        {
            info.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = info };
        var run = new LauncherRun(process);
        process.OutputDataReceived += (_, e) => run.Append(e.Data);
        process.ErrorDataReceived += (_, e) => run.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await Eventually.TrueAsync(() => run.Output.Contains("all 1 apps are up", StringComparison.Ordinal) || process.HasExited,
            TimeSpan.FromMinutes(3), "the launcher reports the app up");
        Assert.False(process.HasExited, "the launcher exited:\n" + run.Output);
        return run;
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }

    /// <summary>SIGTERM (what Ctrl-C does through up.sh), then waits for a clean exit.</summary>
    public async Task<int> StopAsync()
    {
        using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await term.WaitForExitAsync();
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}

/// <summary>The launcher: a second run on the same data directory; a reachable Redis named by the component.</summary>
public sealed class LauncherTests : IDisposable
{
    private readonly TempDirectory _work = new("launcher");
    private readonly int _appPort = FreePort.Next();
    private readonly int _httpPort = FreePort.Next();
    private readonly int _grpcPort = FreePort.Next();

    public void Dispose() => _work.Dispose();

    private string Record => Path.Combine(_work.Path, "deliveries.txt");

    private string DataDir => Path.Combine(_work.Path, "data");

    /// <summary>A component in its own folder naming <paramref name="redisHost"/>, and a dapr.yaml with one app.</summary>
    private string WriteRunFile(string redisHost, string mode)
    {
        var resources = Path.Combine(_work.Path, "components");
        DevSidecarProcess.WritePubSubComponent(resources, redisHost, PubSubFixture.PubSub, new Dictionary<string, string>
        {
            ["processingTimeout"] = "1s",
            ["redeliverInterval"] = "300ms",
        });
        var testDll = typeof(LauncherApp).Assembly.Location;
        var file = Path.Combine(_work.Path, "dapr.yaml");
        File.WriteAllText(file, $"""
            version: 1
            common:
              resourcesPaths:
              - ./components
            apps:
            - appID: kept-app
              appDirPath: {Path.GetDirectoryName(testDll)}
              appPort: {_appPort}
              daprHTTPPort: {_httpPort}
              daprGRPCPort: {_grpcPort}
              command: ["dotnet", "{testDll}", "launcher-app"]
              env:
                MODE: {mode}
                RECORD_FILE: {Record}
            """);
        return file;
    }

    private async Task PublishAsync(string id)
    {
        using var http = new HttpClient();
        using var response = await http.PostAsync(new Uri($"http://127.0.0.1:{_httpPort}/v1.0/publish/{PubSubFixture.PubSub}/{LauncherApp.Topic}"),
            new StringContent($$"""{"id":"{{id}}"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    private List<string> Deliveries(string id) =>
        File.Exists(Record) ? [.. File.ReadAllLines(Record).Where(l => l.StartsWith(id + " ", StringComparison.Ordinal))] : [];

    [Fact]
    public async Task SecondRun_OnTheSameDataDir_DeliversWhatTheFirstLeftUnacknowledged()
    {
        var id = Guid.NewGuid().ToString("N");
        // Nothing listens on this port: the launcher starts its private redis-server in the data directory.
        var unreachable = $"127.0.0.1:{FreePort.Next()}";

        await using (var first = await LauncherRun.StartAsync(WriteRunFile(unreachable, "fail"), DataDir))
        {
            Assert.Contains("append-only file in", first.Output, StringComparison.Ordinal);
            await PublishAsync(id);
            await Eventually.TrueAsync(() => Deliveries(id).Count > 0, TimeSpan.FromMinutes(1), "a failed delivery in run 1");
            Assert.Equal(0, await first.StopAsync());
            Assert.Contains("stopped", first.Output, StringComparison.Ordinal);
        }

        Assert.All(Deliveries(id), d => Assert.Equal($"{id} fail", d));
        await using var second = await LauncherRun.StartAsync(WriteRunFile(unreachable, "ok"), DataDir);

        await Eventually.TrueAsync(() => Deliveries(id).Contains($"{id} ok"), TimeSpan.FromMinutes(1), "run 2 delivers the entry of run 1");
        Assert.Equal(0, await second.StopAsync());
    }

    [Fact]
    public async Task ReachableRedis_NamedByTheComponent_IsUsed_AndNoPrivateOneIsStarted()
    {
        await using var redis = await RedisServer.StartAsync();
        var id = Guid.NewGuid().ToString("N");

        await using var run = await LauncherRun.StartAsync(WriteRunFile(redis.EndPoint, "ok"), DataDir);
        await PublishAsync(id);
        await Eventually.TrueAsync(() => Deliveries(id).Count > 0, TimeSpan.FromMinutes(1), "delivered");

        Assert.Contains($"redis: using {redis.EndPoint}", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("append-only file in", run.Output, StringComparison.Ordinal);
        var db = (await redis.ConnectAsync()).GetDatabase();
        var entries = await db.StreamRangeAsync(LauncherApp.Topic);
        Assert.Contains(entries, e => ((string)e["data"]!).Contains(id, StringComparison.Ordinal));
        Assert.Equal(0, await run.StopAsync());
    }
}
