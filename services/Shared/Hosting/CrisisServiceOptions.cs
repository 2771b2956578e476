using Microsoft.Extensions.Configuration;

namespace Dcis.Crisis.Shared.Hosting;

/// <summary>
/// Where a service listens and keeps its data. Read from configuration keys that match the
/// environment variables Dapr's Multi-App Run injects (<c>APP_PORT</c>) plus our own
/// (<c>GRPC_PORT</c>, <c>DATA_DIR</c>), so the same binary runs under daprd, the launcher and tests.
/// </summary>
public sealed record CrisisServiceOptions(string AppId, int HttpPort, int GrpcPort, string DataDir, string BindAddress)
{
    /// <summary>Reads the options, falling back to the given default ports.</summary>
    public static CrisisServiceOptions From(IConfiguration configuration, string appId, int defaultHttpPort, int defaultGrpcPort)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var dataDir = configuration["DATA_DIR"];
        if (string.IsNullOrWhiteSpace(dataDir))
        {
            dataDir = Path.Combine(Directory.GetCurrentDirectory(), ".data");
        }

        return new CrisisServiceOptions(
            appId,
            configuration.GetValue("APP_PORT", defaultHttpPort),
            configuration.GetValue("GRPC_PORT", defaultGrpcPort),
            Path.GetFullPath(dataDir),
            configuration["BIND_ADDRESS"] ?? "127.0.0.1");
    }

    /// <summary>Path of a file of this service in the data directory, creating the directory.</summary>
    public string DataFile(string name)
    {
        Directory.CreateDirectory(DataDir);
        return Path.Combine(DataDir, name);
    }
}
