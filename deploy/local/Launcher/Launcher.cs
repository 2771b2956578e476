using Dcis.Crisis.Local;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Dcis.Crisis.Launcher;

/// <summary>
/// Options: <c>--file</c> (deploy/dapr.yaml), <c>--data-dir</c> (./.data), <c>--only a,b</c>,
/// <c>--private-redis</c> (always start a private redis-server, even when the component names a reachable one).
/// </summary>
public sealed record LaunchOptions(string File, string DataDir, IReadOnlySet<string>? Only, bool PrivateRedis = false)
{
    public static LaunchOptions Parse(string[] args)
    {
        string file = "deploy/dapr.yaml", dataDir = ".data";
        HashSet<string>? only = null;
        var privateRedis = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--file" or "-f": file = args[++i]; break;
                case "--data-dir": dataDir = args[++i]; break;
                case "--only": only = [.. args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]; break;
                case "--private-redis": privateRedis = true; break;
                default: throw new ArgumentException($"unknown option {args[i]} (use --file, --data-dir, --only, --private-redis)");
            }
        }

        return new LaunchOptions(Path.GetFullPath(file), Path.GetFullPath(dataDir), only, privateRedis);
    }
}

/// <summary>
/// Starts a private redis-server unless the components name a reachable one, then every app with its
/// sidecar; waits for health; stops all on Ctrl-C.
/// </summary>
public sealed partial class Launcher(LaunchOptions options)
{
    private readonly List<ChildProcess> _apps = [];
    private readonly List<ChildProcess> _sidecars = [];
    private readonly HashSet<string> _reachableRedis = new(StringComparer.Ordinal);
    private ChildProcess? _redis;

    public async Task<int> RunAsync(CancellationToken stop)
    {
        var apps = RunFile.Load(options.File);
        if (options.Only is { } only)
        {
            apps = [.. apps.Where(a => only.Contains(a.AppId))];
        }

        Directory.CreateDirectory(options.DataDir);
        IReadOnlyList<string> named = options.PrivateRedis ? [] : RedisHosts.Named(apps.SelectMany(a => a.ResourcesPaths));
        foreach (var host in named)
        {
            if (await RedisHosts.AnswersAsync(host, TimeSpan.FromSeconds(2)))
            {
                _reachableRedis.Add(host);
                Say($"redis: using {host}, named by the components (it answers PING); its own persistence applies");
            }
        }

        // A private server (append-only file in the data directory, free port) for every host that does not answer.
        var redisPort = named.Count > 0 && named.All(_reachableRedis.Contains) ? 0 : await StartRedisAsync(stop);
        var sidecarCommand = SidecarCommand();
        Say($"sidecar: {(sidecarCommand[0] == "daprd" ? "real daprd (found on PATH)" : "dev sidecar (daprd not on PATH): " + sidecarCommand[^1])}");

        var started = new List<(AppSpec App, int HttpPort)>();
        foreach (var app in apps)
        {
            if (!Directory.Exists(app.AppDirPath))
            {
                Say($"{app.AppId}: skipped — {app.AppDirPath} does not exist (yet)");
                continue;
            }

            if (app.Command.Count > 1 && app.Command[1].EndsWith(".dll", StringComparison.Ordinal)
                && !File.Exists(Path.Combine(app.AppDirPath, app.Command[1])))
            {
                Say($"{app.AppId}: skipped — {app.Command[1]} is not built (dotnet build -c Release Dcis.Crisis.sln)");
                continue;
            }

            started.Add((app, StartApp(app, redisPort, sidecarCommand)));
        }

        if (started.Count == 0)
        {
            Say("no app to run");
        }
        else
        {
            await WaitForHealthAsync(started, stop);
        }

        try
        {
            await Task.Delay(Timeout.Infinite, stop);
        }
        catch (OperationCanceledException)
        {
            // Ctrl-C or SIGTERM.
        }

        await StopAllAsync();
        return 0;
    }

    private static void Say(string line) => ChildProcess.Print("launcher", line);

    // Sidecar and private Redis ports: just below the ephemeral range (see LoopbackPorts). A child
    // restarts on the same ports, so a port taken by an outgoing connection once kept a sidecar down
    // for good. The test fixtures use 20000-31999, so a launcher started by a test never picks theirs.
    private static readonly LoopbackPorts Ports = new(32_000, 32_768);

    private static int FreePort() => Ports.Next();

    private static string? OnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);

    private async Task<int> StartRedisAsync(CancellationToken stop)
    {
        var server = OnPath("redis-server") ?? (File.Exists("/usr/bin/redis-server") ? "/usr/bin/redis-server" : null);
        if (server is null && File.Exists("/usr/bin/apt-get"))
        {
            Say("redis-server is missing: installing it with apt-get (Debian package redis-server)");
            using var install = System.Diagnostics.Process.Start("apt-get", ["install", "-y", "redis-server"]);
            await install.WaitForExitAsync(stop);
            server = File.Exists("/usr/bin/redis-server") ? "/usr/bin/redis-server" : null;
        }

        if (server is null)
        {
            throw new InvalidOperationException("redis-server is not installed: install Redis 7 (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)");
        }

        var dir = Path.Combine(options.DataDir, "redis");
        Directory.CreateDirectory(dir);
        var port = FreePort();
        _redis = ChildProcess.Start("redis", server,
            ["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", dir,
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""], dir);
        while (!await PingRedisAsync(port))
        {
            if (_redis.HasExited)
            {
                throw new InvalidOperationException("redis-server exited at start");
            }

            await Task.Delay(50, stop);
        }

        Say($"redis-server on 127.0.0.1:{port}, append-only file in {dir}");
        return port;
    }

    private static async Task<bool> PingRedisAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer);
            return read >= 5 && buffer[0] == (byte)'+';
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>daprd when on PATH, else <c>dotnet dev-sidecar.dll</c> built next to the launcher.</summary>
    private static List<string> SidecarCommand()
    {
        if (OnPath("daprd") is { } daprd)
        {
            return ["daprd"];
        }

        // The launcher runs from deploy/local/Launcher/bin/<Configuration>/net10.0/.
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var local = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", ".."));
        var dll = new[] { configuration, "Release", "Debug" }
            .Select(c => Path.Combine(local, "DevSidecar", "bin", c, "net10.0", "dev-sidecar.dll"))
            .FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("the dev sidecar is not built (dotnet build -c Release Dcis.Crisis.sln)");
        return ["dotnet", dll];
    }

    /// <summary>
    /// Copies the resources into a folder of the app's own (a sidecar still reading its folder never sees
    /// the next app's being written) with every <c>redisHost</c> that does not answer pointed at the
    /// private redis-server.
    /// </summary>
    private string PrepareResources(string appId, IReadOnlyList<string> paths, int redisPort)
    {
        var target = Path.Combine(options.DataDir, "resources", appId);
        Directory.CreateDirectory(target);
        foreach (var old in Directory.GetFiles(target))
        {
            File.Delete(old);
        }

        foreach (var (path, index) in paths.Select((p, i) => (p, i)))
        {
            if (!Directory.Exists(path))
            {
                continue;
            }

            foreach (var file in Directory.GetFiles(path, "*.yaml").Concat(Directory.GetFiles(path, "*.yml")))
            {
                var text = RedisHost().Replace(File.ReadAllText(file), m =>
                    _reachableRedis.Contains(m.Groups[2].Value.Trim().Trim('"', '\'')) ? m.Value : m.Groups[1].Value + $"\"127.0.0.1:{redisPort}\"");
                File.WriteAllText(Path.Combine(target, $"{index}-{Path.GetFileName(file)}"), text);
            }
        }

        return target;
    }

    [GeneratedRegex(@"(-\s*name:\s*redisHost\s*\n\s*value:\s*)(\S.*)")]
    private static partial Regex RedisHost();

    private int StartApp(AppSpec app, int redisPort, List<string> sidecarCommand)
    {
        var appPort = app.AppPort ?? FreePort();
        var httpPort = app.DaprHttpPort ?? FreePort();
        var grpcPort = app.DaprGrpcPort ?? FreePort();
        var resources = PrepareResources(app.AppId, app.ResourcesPaths, redisPort);
        var args = new List<string>(sidecarCommand.Skip(1))
        {
            "--app-id", app.AppId, "--app-port", appPort.ToString(CultureInfo.InvariantCulture),
            "--app-protocol", app.AppProtocol,
            "--dapr-http-port", httpPort.ToString(CultureInfo.InvariantCulture),
            "--dapr-grpc-port", grpcPort.ToString(CultureInfo.InvariantCulture),
            "--resources-path", resources,
        };
        if (app.AppMaxConcurrency is { } max)
        {
            args.AddRange(["--app-max-concurrency", max.ToString(CultureInfo.InvariantCulture)]);
        }

        if (app.ConfigFilePath is { } config && File.Exists(config))
        {
            args.AddRange(["--config", config]);
        }

        _sidecars.Add(ChildProcess.Start($"{app.AppId}:dapr", sidecarCommand[0], args, app.AppDirPath));

        var env = new Dictionary<string, string>(app.Env, StringComparer.Ordinal)
        {
            ["APP_ID"] = app.AppId,
            ["APP_PORT"] = appPort.ToString(CultureInfo.InvariantCulture),
            ["APP_PROTOCOL"] = app.AppProtocol,
            ["APP_CHANNEL_ADDRESS"] = "127.0.0.1",
            ["DAPR_HTTP_PORT"] = httpPort.ToString(CultureInfo.InvariantCulture),
            ["DAPR_GRPC_PORT"] = grpcPort.ToString(CultureInfo.InvariantCulture),
            // The launcher's data directory wins over the template's relative default.
            ["DATA_DIR"] = options.DataDir,
        };
        _apps.Add(ChildProcess.Start(app.AppId, app.Command[0], app.Command.Skip(1), app.AppDirPath, env));
        Say($"{app.AppId}: app on {appPort}, sidecar HTTP {httpPort} gRPC {grpcPort}");
        return httpPort;
    }

    private static async Task WaitForHealthAsync(List<(AppSpec App, int HttpPort)> started, CancellationToken stop)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var pending = started.ToDictionary(s => s.App.AppId, s => s.HttpPort);
        var began = DateTime.UtcNow;
        var lastReport = DateTime.MinValue;
        while (pending.Count > 0 && !stop.IsCancellationRequested)
        {
            foreach (var (appId, port) in pending.ToList())
            {
                try
                {
                    using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/v1.0/healthz"), stop);
                    if (response.StatusCode == HttpStatusCode.NoContent)
                    {
                        pending.Remove(appId);
                        Say($"{appId}: healthy ({(DateTime.UtcNow - began).TotalSeconds:0.0} s)");
                    }
                }
                catch (HttpRequestException)
                {
                    // Not up yet.
                }
                catch (TaskCanceledException) when (!stop.IsCancellationRequested)
                {
                    // Slow answer; ask again.
                }
            }

            if (pending.Count > 0 && DateTime.UtcNow - lastReport > TimeSpan.FromSeconds(5))
            {
                lastReport = DateTime.UtcNow;
                Say($"waiting for {string.Join(", ", pending.Keys)} ({(DateTime.UtcNow - began).TotalSeconds:0} s)");
            }

            await Task.Delay(250, CancellationToken.None);
        }

        if (pending.Count == 0)
        {
            Say($"all {started.Count} apps are up; Ctrl-C stops everything");
        }
    }

    private async Task StopAllAsync()
    {
        Say("stopping apps, then sidecars (draining deliveries), then redis-server");
        await Task.WhenAll(_apps.Select(a => a.StopAsync(TimeSpan.FromSeconds(15))));
        await Task.WhenAll(_sidecars.Select(s => s.StopAsync(TimeSpan.FromSeconds(40))));
        if (_redis is not null)
        {
            await _redis.StopAsync(TimeSpan.FromSeconds(10));
        }

        foreach (var child in _apps.Concat(_sidecars).Append(_redis).OfType<ChildProcess>())
        {
            child.Dispose();
        }

        Say("stopped");
    }
}
