using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;

namespace Dcis.Crisis.Testing;

/// <summary>
/// Runs a service in the test process on real Kestrel (free gRPC and HTTP ports, a temp data
/// directory with its own SQLite files and dev signing key) and hands out real gRPC channels.
/// Services expose <c>static WebApplication Create(string[] args)</c> for this.
/// </summary>
public sealed class ServiceHost : IAsyncDisposable
{
    private readonly TempDirectory? _ownedDataDir;

    private ServiceHost(WebApplication app, int grpcPort, int httpPort, string dataDir, TempDirectory? ownedDataDir)
    {
        App = app;
        GrpcPort = grpcPort;
        HttpPort = httpPort;
        DataDir = dataDir;
        _ownedDataDir = ownedDataDir;
    }

    /// <summary>The running application (its Services for white-box checks).</summary>
    public WebApplication App { get; }

    /// <summary>The gRPC (h2c) port.</summary>
    public int GrpcPort { get; }

    /// <summary>The HTTP/1.1 port (Dapr callbacks, /healthz).</summary>
    public int HttpPort { get; }

    /// <summary>The data directory.</summary>
    public string DataDir { get; }

    /// <summary>Base address of the gRPC endpoint.</summary>
    public Uri GrpcAddress => new($"http://127.0.0.1:{GrpcPort}");

    /// <summary>Base address of the HTTP endpoint.</summary>
    public Uri HttpAddress => new($"http://127.0.0.1:{HttpPort}");

    /// <summary>
    /// Starts the service. Extra settings are passed as configuration (e.g. <c>DAPR_GRPC_PORT</c>).
    /// Pass <paramref name="dataDir"/> to restart a service on the same files.
    /// </summary>
    public static async Task<ServiceHost> StartAsync(
        Func<string[], WebApplication> create,
        IReadOnlyDictionary<string, string>? settings = null,
        string? dataDir = null,
        int? httpPort = null)
    {
        ArgumentNullException.ThrowIfNull(create);
        var owned = dataDir is null ? new TempDirectory("dcis-svc") : null;
        var dir = dataDir ?? owned!.Path;
        var grpcPort = FreePort.Next();
        var http = httpPort ?? FreePort.Next();
        var args = new List<string>
        {
            $"--GRPC_PORT={grpcPort}", $"--APP_PORT={http}", $"--DATA_DIR={dir}", "--environment=Development",
            "--Logging:LogLevel:Default=Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            args.Add($"--{key}={value}");
        }

        var app = create([.. args]);
        await app.StartAsync();
        return new ServiceHost(app, grpcPort, http, dir, owned);
    }

    /// <summary>Mints a development token that this service accepts.</summary>
    public string Token(string role, string subject = "test-user", string? postId = null, string? companyId = null,
        string? registrantId = null, IReadOnlyList<string>? countries = null) =>
        ServiceChannels.Token(DataDir, role, subject, postId, companyId, registrantId, countries);

    /// <summary>A real gRPC channel to the service; with a token, every call carries it.</summary>
    public GrpcChannel Channel(string? token = null) => ServiceChannels.For(GrpcAddress, token);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        _ownedDataDir?.Dispose();
    }
}
