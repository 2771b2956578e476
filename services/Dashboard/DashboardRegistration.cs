using Dcis.Crisis.Dashboard.Events;
using Dcis.Crisis.Dashboard.Storage;
using Dcis.Crisis.Dashboard.Browser;
using Dcis.Crisis.Shared.Hosting;
using Dcis.Crisis.Shared.Storage;
using Grpc.Net.Client;

namespace Dcis.Crisis.Dashboard;

/// <summary>Every dependency of the dashboard, in one place.</summary>
internal static class DashboardRegistration
{
    public static void AddDashboard(this WebApplicationBuilder builder, CrisisServiceOptions options, DashboardOptions dashboard)
    {
        var services = builder.Services;
        services.AddSingleton(dashboard);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(new SqliteDatabase(options.DataFile(DashboardApp.AppId + ".db")));
        services.AddSingleton<ReadModelStore>();
        services.AddSingleton<ReadModelQueries>();
        services.AddSingleton<ReadModelProjector>();
        services.AddSingleton<LiveUpdates>();
        services.AddSingleton(_ => GrpcChannel.ForAddress(dashboard.ThreatLevelsAddress));
        services.AddSingleton<ThreatLevelsGateway>();
        services.AddSingleton<InitialState>();
        services.AddHttpClient();
        services.AddSingleton<HealthMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<HealthMonitor>());
    }

    public static async Task MigrateDashboardAsync(this IServiceProvider services) =>
        await services.GetRequiredService<SqliteDatabase>().MigrateAsync(DashboardSchema.Ddl, CancellationToken.None);
}
