using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Dcis.Crisis.Testing;

/// <summary>How to start a dev sidecar (deploy/local/DevSidecar) for one app.</summary>
public sealed record DevSidecarOptions
{
    /// <summary>The app id (<c>--app-id</c>); also the default Redis consumer group.</summary>
    public required string AppId { get; init; }

    /// <summary>The app's HTTP port for subscriptions (<c>--app-port</c>); null for a publish-only sidecar.</summary>
    public int? AppPort { get; init; }

    /// <summary>Directories with component, subscription and resiliency YAML (<c>--resources-path</c>).</summary>
    public IReadOnlyList<string> ResourcesPaths { get; init; } = [];

    /// <summary>DAPR_API_TOKEN for the sidecar (apps must send it).</summary>
    public string? DaprApiToken { get; init; }

    /// <summary>APP_API_TOKEN for the sidecar (it sends it to the app).</summary>
    public string? AppApiToken { get; init; }

    /// <summary><c>--app-max-concurrency</c>; null = unlimited.</summary>
    public int? AppMaxConcurrency { get; init; }

    /// <summary>Fixed HTTP/gRPC API ports; null = free ports.</summary>
    public int? HttpPort { get; init; }

    /// <summary>Fixed gRPC API port; null = a free port.</summary>
    public int? GrpcPort { get; init; }

    /// <summary>Further daprd flags.</summary>
    public IReadOnlyList<string> ExtraArgs { get; init; } = [];
}

/// <summary>
/// The dev sidecar as a real child process, the way the launcher runs it: started on free ports,
/// ready when <c>/v1.0/healthz/outbound</c> answers 204, killable with <c>kill -9</c> and restartable
/// on the same ports. Point the Dapr SDK at it with <see cref="HttpEndpoint"/> / <see cref="GrpcEndpoint"/>
/// (or the <c>DAPR_HTTP_PORT</c>/<c>DAPR_GRPC_PORT</c> variables).
/// </summary>
/// <example>
/// <code>
/// await using var redis = await RedisServer.StartAsync();
/// using var resources = new TempDirectory();
/// DevSidecarProcess.WritePubSubComponent(resources.Path, redis.EndPoint);
/// await using var sidecar = await DevSidecarProcess.StartAsync(new DevSidecarOptions
/// {
///     AppId = "threat-levels", AppPort = appHttpPort, ResourcesPaths = [resources.Path],
/// });
/// await sidecar.WaitForAppAsync();   // the app's subscriptions are running
/// var client = new DaprClientBuilder().UseGrpcEndpoint(sidecar.GrpcEndpoint).UseHttpEndpoint(sidecar.HttpEndpoint).Build();
/// </code>
/// </example>
public sealed class DevSidecarProcess : IAsyncDisposable
{
    private readonly ProcessOutput _output = new(2000);
    private Process? _process;

    private DevSidecarProcess(DevSidecarOptions options, int httpPort, int grpcPort)
    {
        Options = options;
        HttpPort = httpPort;
        GrpcPort = grpcPort;
    }

    /// <summary>The options it was started with.</summary>
    public DevSidecarOptions Options { get; }

    /// <summary>The Dapr HTTP API port (DAPR_HTTP_PORT).</summary>
    public int HttpPort { get; }

    /// <summary>The Dapr gRPC API port (DAPR_GRPC_PORT).</summary>
    public int GrpcPort { get; }

    /// <summary>"http://127.0.0.1:{HttpPort}".</summary>
    public string HttpEndpoint => $"http://127.0.0.1:{HttpPort}";

    /// <summary>"http://127.0.0.1:{GrpcPort}".</summary>
    public string GrpcEndpoint => $"http://127.0.0.1:{GrpcPort}";

    /// <summary>Everything the sidecar printed so far (for failure messages).</summary>
    public string Output => _output.ToString();

    /// <summary>True while the process runs.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The sidecar process id (benchmarks read its CPU time), 0 when not running.</summary>
    public int Pid => _process is { HasExited: false } process ? process.Id : 0;

    /// <summary>
    /// The built dev sidecar: <c>DEV_SIDECAR_DLL</c> env var, else
    /// <c>deploy/local/DevSidecar/bin/{Debug|Release}/net10.0/dev-sidecar.dll</c> of this repository
    /// (the newest build). Test projects reference the DevSidecar project so that it is built.
    /// </summary>
    public static string LocateDll()
    {
        if (Environment.GetEnvironmentVariable("DEV_SIDECAR_DLL") is { Length: > 0 } configured)
        {
            return configured;
        }

        return Repository.NewestBuild("deploy/local/DevSidecar", "dev-sidecar.dll") ?? throw new FileNotFoundException("dev-sidecar.dll is not built (dotnet build deploy/local/DevSidecar)");
    }

    /// <summary>
    /// Writes a <c>pubsub.redis</c> component named <paramref name="name"/> into <paramref name="directory"/>.
    /// Extra metadata (e.g. <c>processingTimeout</c>, <c>redeliverInterval</c>) is added as given.
    /// </summary>
    public static string WritePubSubComponent(string directory, string redisHost, string name = "crisis-pubsub", IReadOnlyDictionary<string, string>? metadata = null)
    {
        var lines = new List<string>
        {
            "apiVersion: dapr.io/v1alpha1",
            "kind: Component",
            "metadata:",
            $"  name: {name}",
            "spec:",
            "  type: pubsub.redis",
            "  version: v1",
            "  metadata:",
            "  - name: redisHost",
            $"    value: \"{redisHost}\"",
        };
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
        {
            lines.Add($"  - name: {key}");
            lines.Add($"    value: \"{value}\"");
        }

        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"{name}.yaml");
        File.WriteAllLines(path, lines);
        return path;
    }

    /// <summary>Starts the sidecar and waits (up to 90 s: CI machines are small) until its outbound health answers 204.</summary>
    public static async Task<DevSidecarProcess> StartAsync(DevSidecarOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var sidecar = new DevSidecarProcess(options, options.HttpPort ?? FreePort.Next(), options.GrpcPort ?? FreePort.Next());
        await sidecar.LaunchAsync();
        return sidecar;
    }

    private async Task LaunchAsync()
    {
        var info = new ProcessStartInfo("dotnet");
        info.ArgumentList.Add(LocateDll());
        void Arg(string name, string value)
        {
            info.ArgumentList.Add(name);
            info.ArgumentList.Add(value);
        }

        Arg("--app-id", Options.AppId);
        Arg("--dapr-http-port", HttpPort.ToString(CultureInfo.InvariantCulture));
        Arg("--dapr-grpc-port", GrpcPort.ToString(CultureInfo.InvariantCulture));
        if (Options.AppPort is { } appPort)
        {
            Arg("--app-port", appPort.ToString(CultureInfo.InvariantCulture));
        }

        if (Options.AppMaxConcurrency is { } max)
        {
            Arg("--app-max-concurrency", max.ToString(CultureInfo.InvariantCulture));
        }

        foreach (var path in Options.ResourcesPaths)
        {
            Arg("--resources-path", path);
        }

        foreach (var extra in Options.ExtraArgs)
        {
            info.ArgumentList.Add(extra);
        }

        info.Environment.Remove("DAPR_API_TOKEN");
        info.Environment.Remove("APP_API_TOKEN");
        if (Options.DaprApiToken is { } token)
        {
            info.Environment["DAPR_API_TOKEN"] = token;
        }

        if (Options.AppApiToken is { } appToken)
        {
            info.Environment["APP_API_TOKEN"] = appToken;
        }

        _process = _output.Start(info);

        await WaitForAsync("/v1.0/healthz/outbound", TimeSpan.FromSeconds(90));
    }

    /// <summary>Waits (default 90 s) until <c>/v1.0/healthz</c> answers 204: the app is reachable and its subscriptions run.</summary>
    public Task WaitForAppAsync(TimeSpan? limit = null) => WaitForAsync("/v1.0/healthz", limit ?? TimeSpan.FromSeconds(90));

    private async Task WaitForAsync(string path, TimeSpan limit)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            if (_process is { HasExited: true })
            {
                throw new InvalidOperationException($"dev sidecar {Options.AppId} exited ({_process.ExitCode}):\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(HttpEndpoint + path));
                if (response.StatusCode == HttpStatusCode.NoContent)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Slow start; poll again.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"dev sidecar {Options.AppId}: {path} not healthy after {limit}:\n{Output}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Kills the sidecar with SIGKILL (<c>kill -9</c>): no draining, no acknowledgements.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Stops the sidecar with SIGTERM (graceful: drains in-flight deliveries) and waits for it.</summary>
    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }

        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            await KillAsync();
        }
    }

    /// <summary>Starts the sidecar again with the same options and ports (after a kill or stop).</summary>
    public async Task RestartAsync()
    {
        await KillAsync();
        _process?.Dispose();
        await LaunchAsync();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
    }
}
