using Dcis.Crisis.DevSidecar.Api;
using Dcis.Crisis.DevSidecar.PubSub;
using Dcis.Crisis.DevSidecar.Resources;
using Dcis.Crisis.DevSidecar.Subscriptions;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Dcis.Crisis.DevSidecar;

/// <summary>The one place where the dev sidecar's services are wired.</summary>
public static class SidecarRegistration
{
    public static async Task AddDevSidecarAsync(this WebApplicationBuilder builder, SidecarOptions options)
    {
        var level = options.LogLevel switch
        {
            "debug" => LogLevel.Debug,
            "warn" or "warning" => LogLevel.Warning,
            "error" => LogLevel.Error,
            "fatal" => LogLevel.Critical,
            _ => LogLevel.Information,
        };
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.Logging.SetMinimumLevel(level);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Grpc", LogLevel.Warning);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(45));

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Two listeners, as daprd: HTTP/1.1 API and h2c gRPC API (no TLS, so one protocol per port).
            kestrel.ListenLocalhost(options.DaprHttpPort, o => o.Protocols = HttpProtocols.Http1);
            kestrel.ListenLocalhost(options.DaprGrpcPort, o => o.Protocols = HttpProtocols.Http2);
            kestrel.Limits.MaxRequestBodySize = 4 * 1024 * 1024;
        });

        using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(level));
        var logger = loggerFactory.CreateLogger("dev-sidecar");
        foreach (var flag in options.IgnoredFlags)
        {
            logger.LogInformation("Flag --{Flag} is accepted but not implemented by the dev sidecar", flag);
        }

        var resources = ResourceSet.Load(options.ResourcesPaths, options.AppId, logger);
        var pubsubs = new Dictionary<string, PubSubEntry>(StringComparer.Ordinal);
        foreach (var component in resources.PubSubs)
        {
            var settings = RedisSettings.From(component.Metadata, options.AppId);
            var redis = await RedisStreamsPubSub.ConnectAsync(component.Name, settings, loggerFactory.CreateLogger<RedisStreamsPubSub>());
            pubsubs[component.Name] = new PubSubEntry(component, redis,
                resources.ResolvePolicy(component.Name, "outbound"), resources.ResolvePolicy(component.Name, "inbound"));
        }

        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(resources);
        builder.Services.AddSingleton<IReadOnlyDictionary<string, PubSubEntry>>(pubsubs);
        builder.Services.AddSingleton<Publisher>();
        builder.Services.AddSingleton<AppChannel>();
        builder.Services.AddSingleton<Deliverer>();
        builder.Services.AddSingleton<SubscriptionManager>();
        builder.Services.AddSingleton<SidecarState>();
        builder.Services.AddHostedService<SidecarRuntime>();
        builder.Services.AddSingleton<ApiToken.Interceptor>();
        builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = 16 * 1024 * 1024)
            .AddServiceOptions<DaprGrpcService>(o => o.Interceptors.Add<ApiToken.Interceptor>());
        builder.Services.AddGrpcReflection();
    }
}
