using System.Diagnostics;
using System.Globalization;
using Grpc.Net.Client;

namespace Dcis.Crisis.Testing;

/// <summary>
/// A service as a real child process (<c>dotnet services/{Name}/bin/…/Dcis.Crisis.{Name}.dll</c>), configured
/// through environment variables as the launcher does. Unlike <see cref="ServiceHost"/>, it runs with the
/// service's own runtime settings (its runtimeconfig: GC mode, thread pool) and its own heap, and a test can
/// kill it with SIGKILL and start it again on the same data.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly ProcessOutput _output = new(500);
    private readonly string _dll;
    private readonly int? _fixedHttpPort;
    private Process? _process;

    private ServiceProcess(string service, string dataDir, IReadOnlyDictionary<string, string> environment, int? httpPort)
    {
        Service = service;
        DataDir = dataDir;
        Environment = environment;
        _fixedHttpPort = httpPort;
        _dll = LocateDll(service);
    }

    /// <summary>The service's folder under <c>services/</c>, e.g. <c>ThreatLevels</c>.</summary>
    public string Service { get; }

    /// <summary>The data directory (SQLite files, dev signing key).</summary>
    public string DataDir { get; }

    /// <summary>Extra environment variables, e.g. <c>Notifications__SmsGatewayUrl</c>.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; }

    /// <summary>The HTTP/1.1 port (Dapr callbacks, /healthz) of the current launch.</summary>
    public int HttpPort { get; private set; }

    /// <summary>The gRPC (h2c) port of the current launch.</summary>
    public int GrpcPort { get; private set; }

    /// <summary>Base address of the HTTP endpoint.</summary>
    public Uri HttpAddress => new($"http://127.0.0.1:{HttpPort}");

    /// <summary>Base address of the gRPC endpoint.</summary>
    public Uri GrpcAddress => new($"http://127.0.0.1:{GrpcPort}");

    /// <summary>The process id, 0 once it has exited.</summary>
    public int Pid => _process is { HasExited: false } process ? process.Id : 0;

    /// <summary>The last lines the process wrote (stdout and stderr).</summary>
    public string Output => _output.ToString();

    /// <summary>
    /// Starts the service and waits until <c>/healthz</c> answers. With <paramref name="httpPort"/> every
    /// launch uses that port (a sidecar started first points at it); without, each launch takes a free one.
    /// </summary>
    public static async Task<ServiceProcess> StartAsync(string service, string dataDir, IReadOnlyDictionary<string, string> environment, int? httpPort = null)
    {
        var process = new ServiceProcess(service, dataDir, environment, httpPort);
        await process.LaunchAsync();
        return process;
    }

    /// <summary>The newest build of <c>services/{service}</c> next to this repository's solution.</summary>
    public static string LocateDll(string service) =>
        Repository.NewestBuild($"services/{service}", $"Dcis.Crisis.{service}.dll") ?? throw new FileNotFoundException($"Dcis.Crisis.{service}.dll is not built (dotnet build -c Release Dcis.Crisis.sln)");

    /// <summary>Starts the process (again, after <see cref="KillAsync"/>) on the same data directory.</summary>
    public async Task LaunchAsync()
    {
        HttpPort = _fixedHttpPort ?? FreePort.Next();
        GrpcPort = FreePort.Next();
        var info = new ProcessStartInfo("dotnet");
        info.ArgumentList.Add(_dll);
        info.Environment["APP_PORT"] = HttpPort.ToString(CultureInfo.InvariantCulture);
        info.Environment["GRPC_PORT"] = GrpcPort.ToString(CultureInfo.InvariantCulture);
        info.Environment["DATA_DIR"] = DataDir;
        info.Environment["Logging__LogLevel__Default"] = "Error";
        info.Environment["DAPR_GRPC_PORT"] = FreePort.Next().ToString(CultureInfo.InvariantCulture);
        info.Environment["DAPR_HTTP_PORT"] = FreePort.Next().ToString(CultureInfo.InvariantCulture);
        foreach (var (key, value) in Environment)
        {
            info.Environment[key] = value;
        }

        var process = _output.Start(info);
        _process = process;

        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{Service} exited at start:\n{Output}");
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
                throw new TimeoutException($"{Service} did not become healthy:\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>A real gRPC channel to the service; with a token, every call carries it.</summary>
    public GrpcChannel Channel(string? token = null) => ServiceChannels.For(GrpcAddress, token);

    /// <summary>Mints a development token that this service accepts (it reads the data directory's key).</summary>
    public string Token(string role, string subject = "test-user", string? companyId = null) =>
        ServiceChannels.Token(DataDir, role, subject, companyId: companyId);

    /// <summary>SIGKILL: no shutdown hooks, no flush, exactly what a crash or OOM kill does.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
    }
}
