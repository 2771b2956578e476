using Dcis.Crisis.Consular.Events;
using Dcis.Crisis.Consular.Grpc;
using Dcis.Crisis.Shared.Hosting;

namespace Dcis.Crisis.Consular;

/// <summary>The consular service: posts, registry, presence, alerts, wellbeing checks.</summary>
public static class ConsularApp
{
    /// <summary>App id (Dapr) and database name.</summary>
    public const string AppId = "consular";

    /// <summary>Builds the application. Tests pass <paramref name="configure"/> to replace services (the clock).</summary>
    public static WebApplication Create(string[] args, Action<IServiceCollection>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        var options = builder.AddCrisisDefaults(AppId, defaultHttpPort: 5200, defaultGrpcPort: 5201);
        builder.AddConsular(options);
        configure?.Invoke(builder.Services);

        var app = builder.Build();
        app.MapCrisisDefaults();
        app.MapGrpcService<ConsularGrpcService>();
        app.MapConsularSubscriptions();
        return app;
    }
}
