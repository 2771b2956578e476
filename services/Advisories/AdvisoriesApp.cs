using Dcis.Crisis.Advisories.Events;
using Dcis.Crisis.Advisories.Grpc;
using Dcis.Crisis.Advisories.Http;
using Dcis.Crisis.Advisories.Storage;
using Dcis.Crisis.Shared.Hosting;
using Dcis.Crisis.Shared.Storage;

namespace Dcis.Crisis.Advisories;

/// <summary>The advisories service: app id <c>advisories</c>, HTTP 5300, gRPC 5301, database <c>advisories.db</c>.</summary>
public static class AdvisoriesApp
{
    public const string AppId = "advisories";

    public static WebApplication Create(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        var options = builder.AddCrisisDefaults(AppId, 5300, 5301);
        builder.AddAdvisories(options);

        var app = builder.Build();
        AdvisoriesSchema.MigrateAsync(app.Services.GetRequiredService<SqliteDatabase>(), CancellationToken.None).GetAwaiter().GetResult();
        app.MapCrisisDefaults();
        app.MapGrpcService<AdvisoriesGrpcService>();
        app.MapAdvisoryFeeds();
        app.MapAdvisoriesSubscriptions();
        return app;
    }
}
