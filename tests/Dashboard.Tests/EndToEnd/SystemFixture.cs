using System.Globalization;
using Dcis.Crisis.Testing;
using Dcis.Crisis.ThreatLevels;

namespace Dcis.Crisis.Dashboard.Tests.EndToEnd;

/// <summary>
/// The event path as in production: threat-levels → its dev sidecar → real redis-server → the
/// dashboard's dev sidecar → the dashboard. Both services share one data directory so that they
/// trust the same development signing key (each keeps its own SQLite file there).
/// </summary>
public sealed class SystemFixture : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory _resources = new("dash-e2e-res");
    private readonly TempDirectory _data = new("dash-e2e-data");
    private RedisServer _redis = null!;
    private DevSidecarProcess _threatLevelsSidecar = null!;
    private DevSidecarProcess _dashboardSidecar = null!;

    public ServiceHost ThreatLevels { get; private set; } = null!;

    public ServiceHost Dashboard { get; private set; } = null!;

    public int WebPort { get; private set; }

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        DevSidecarProcess.WritePubSubComponent(_resources.Path, _redis.EndPoint);
        _threatLevelsSidecar = await DevSidecarProcess.StartAsync(new DevSidecarOptions { AppId = ThreatLevelsApp.AppId, ResourcesPaths = [_resources.Path] });
        ThreatLevels = await ServiceHost.StartAsync(ThreatLevelsApp.Create, Dapr(_threatLevelsSidecar), dataDir: _data.Path);

        WebPort = FreePort.Next();
        var dashboardHttp = FreePort.Next();
        var dashboardSidecarHttp = FreePort.Next();
        var settings = new Dictionary<string, string>
        {
            ["WEB_PORT"] = WebPort.ToString(CultureInfo.InvariantCulture),
            ["Services:ThreatLevels"] = ThreatLevels.GrpcAddress.ToString(),
            ["Health:Targets:threat-levels"] = new Uri(ThreatLevels.HttpAddress, "healthz").ToString(),
            ["Health:Targets:threat-levels-sidecar"] = _threatLevelsSidecar.HttpEndpoint + "/v1.0/healthz/outbound",
            ["DAPR_HTTP_PORT"] = dashboardSidecarHttp.ToString(CultureInfo.InvariantCulture),
        };
        Dashboard = await ServiceHost.StartAsync(DashboardApp.Create, settings, dataDir: _data.Path, httpPort: dashboardHttp);
        _dashboardSidecar = await DevSidecarProcess.StartAsync(new DevSidecarOptions
        {
            AppId = DashboardApp.AppId, AppPort = dashboardHttp, ResourcesPaths = [_resources.Path], HttpPort = dashboardSidecarHttp,
        });
        await _dashboardSidecar.WaitForAppAsync();
    }

    public Uri WebAddress => new($"http://127.0.0.1:{WebPort}/");

    public string Token(string role, string subject) => Dashboard.Token(role, subject);

    private static Dictionary<string, string> Dapr(DevSidecarProcess sidecar) => new()
    {
        ["DAPR_GRPC_PORT"] = sidecar.GrpcPort.ToString(CultureInfo.InvariantCulture),
        ["DAPR_HTTP_PORT"] = sidecar.HttpPort.ToString(CultureInfo.InvariantCulture),
        ["DAPR_GRPC_ENDPOINT"] = sidecar.GrpcEndpoint,
        ["DAPR_HTTP_ENDPOINT"] = sidecar.HttpEndpoint,
    };

    public async Task DisposeAsync()
    {
        await _dashboardSidecar.DisposeAsync();
        await Dashboard.DisposeAsync();
        await ThreatLevels.DisposeAsync();
        await _threatLevelsSidecar.DisposeAsync();
        await _redis.DisposeAsync();
    }

    public void Dispose()
    {
        _resources.Dispose();
        _data.Dispose();
    }
}
