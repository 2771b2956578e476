using Dcis.Crisis.Shared.Hosting;

namespace Dcis.Crisis.Dashboard;

/// <summary>
/// Where the dashboard serves its UI and finds the other services. Keys: <c>WEB_PORT</c> (browser UI,
/// default 5500), <c>Services:ThreatLevels</c> (gRPC address of threat-levels, default
/// http://127.0.0.1:5101), <c>Health:Targets:&lt;name&gt;</c> (HTTP health URLs to watch; defaults
/// to every service's /healthz on its default port, plus this app's sidecar when DAPR_HTTP_PORT is set).
/// </summary>
internal sealed record DashboardOptions(int WebPort, Uri ThreatLevelsAddress, IReadOnlyDictionary<string, Uri> HealthTargets)
{
    public static DashboardOptions From(IConfiguration configuration)
    {
        var targets = new SortedDictionary<string, Uri>(StringComparer.Ordinal)
        {
            ["threat-levels"] = new("http://127.0.0.1:5100/healthz"),
            ["consular"] = new("http://127.0.0.1:5200/healthz"),
            ["advisories"] = new("http://127.0.0.1:5300/healthz"),
            ["notifications"] = new("http://127.0.0.1:5400/healthz"),
        };
        var configured = configuration.GetSection("Health:Targets").GetChildren().ToList();
        if (configured.Count > 0)
        {
            targets.Clear();
            foreach (var target in configured.Where(t => !string.IsNullOrWhiteSpace(t.Value)))
            {
                targets[target.Key] = new Uri(target.Value!);
            }
        }

        var daprHttp = configuration["DAPR_HTTP_PORT"];
        if (!string.IsNullOrWhiteSpace(daprHttp))
        {
            targets["dashboard-sidecar"] = new Uri($"http://127.0.0.1:{daprHttp}/v1.0/healthz");
        }

        return new DashboardOptions(
            configuration.GetValue("WEB_PORT", 5500),
            new Uri(ServiceAddresses.ThreatLevels(configuration)),
            targets);
    }
}
