using Dcis.Crisis.Shared.Hosting;
using Dcis.Crisis.ThreatLevels.Events;
using Dcis.Crisis.ThreatLevels.Grpc;

namespace Dcis.Crisis.ThreatLevels;

/// <summary>The threat-levels service: app id <c>threat-levels</c>, HTTP 5100, gRPC 5101.</summary>
public static class ThreatLevelsApp
{
    /// <summary>App id (Dapr) of the service.</summary>
    public const string AppId = "threat-levels";

    /// <summary>Builds the application (used by Program and by tests through ServiceHost).</summary>
    public static WebApplication Create(string[] args) => Create(args, configure: null);

    /// <summary>Builds the application; tests register services first with <paramref name="configure"/>
    /// (a controllable TimeProvider).</summary>
    public static WebApplication Create(string[] args, Action<IServiceCollection>? configure)
    {
        var builder = WebApplication.CreateBuilder(args);
        var options = builder.AddCrisisDefaults(AppId, defaultHttpPort: 5100, defaultGrpcPort: 5101);
        configure?.Invoke(builder.Services);
        builder.AddThreatLevels(options);

        var app = builder.Build();
        app.MapCrisisDefaults();
        app.MapGrpcService<ThreatLevelsGrpcService>();
        app.MapSubscriptions();
        return app;
    }
}
