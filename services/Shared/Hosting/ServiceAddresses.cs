using Microsoft.Extensions.Configuration;

namespace Dcis.Crisis.Shared.Hosting;

/// <summary>
/// Where a service finds another one it calls directly over gRPC (not through pub/sub). The default is
/// the other service's own default port on this host, so that the system runs on its embedded defaults;
/// a deployment sets the key.
/// </summary>
public static class ServiceAddresses
{
    /// <summary><c>Services:ThreatLevels</c>, else threat-levels' default gRPC endpoint, http://127.0.0.1:5101.</summary>
    public static string ThreatLevels(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration["Services:ThreatLevels"] ?? "http://127.0.0.1:5101";
    }
}
