using Dcis.Crisis.Dashboard.Events;
using Dcis.Crisis.Dashboard.Browser;
using Dcis.Crisis.Shared.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Dcis.Crisis.Dashboard;

/// <summary>
/// The crisis-cell dashboard. Three ports: HTTP 5501 for Dapr callbacks and /healthz, gRPC 5502
/// (only gRPC health: the dashboard offers no API of its own), and the browser UI on WEB_PORT 5500.
/// </summary>
public static class DashboardApp
{
    public const string AppId = "dashboard";

    public static WebApplication Create(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            WebRootPath = Path.Combine(AppContext.BaseDirectory, "wwwroot"),
        });
        var options = builder.AddCrisisDefaults(AppId, defaultHttpPort: 5501, defaultGrpcPort: 5502);
        var dashboard = DashboardOptions.From(builder.Configuration);
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(System.Net.IPAddress.Parse(options.BindAddress), dashboard.WebPort, o => o.Protocols = HttpProtocols.Http1));
        builder.AddDashboard(options, dashboard);

        var app = builder.Build();
        // The static UI (no secrets in it) is public on the web port; everything under /api needs a token.
        app.UseWhen(http => http.Connection.LocalPort == dashboard.WebPort, web => web
            .UseDefaultFiles()
            .UseStaticFiles(new StaticFileOptions
            {
                OnPrepareResponse = file => file.Context.Response.Headers.CacheControl = "no-cache",
            }));
        app.MapCrisisDefaults();
        app.MapDashboardApi(dashboard.WebPort);
        app.MapDashboardSubscriptions(options.HttpPort);
        app.Services.MigrateDashboardAsync().GetAwaiter().GetResult();
        return app;
    }
}
