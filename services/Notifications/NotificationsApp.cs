using Dcis.Crisis.Notifications.Channels;
using Dcis.Crisis.Notifications.Events;
using Dcis.Crisis.Notifications.Grpc;
using Dcis.Crisis.Shared.Hosting;

namespace Dcis.Crisis.Notifications;

/// <summary>The notifications service: intake of notification requests, dispatch over channels, app inbox.</summary>
public static class NotificationsApp
{
    /// <summary>App id (Dapr and telemetry).</summary>
    public const string AppId = "notifications";

    /// <summary>Builds the application.</summary>
    public static WebApplication Create(string[] args) => Create(args, null);

    /// <summary>Builds the application; <paramref name="configureServices"/> lets tests and benchmarks
    /// replace a dependency (a controllable clock, an extra channel provider) after the defaults.</summary>
    public static WebApplication Create(string[] args, Action<IServiceCollection>? configureServices)
    {
        var builder = WebApplication.CreateBuilder(args);
        var options = builder.AddCrisisDefaults(AppId, 5400, 5401);
        builder.AddNotifications(options);
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.MapCrisisDefaults();
        app.MapGrpcService<NotificationsGrpcService>();
        app.MapNotificationSubscriptions();
        app.MapProviderReceipts();
        return app;
    }
}
