using Dcis.Crisis.Advisories.Events;
using Dcis.Crisis.Advisories.Grpc;
using Dcis.Crisis.Advisories.Http;
using Dcis.Crisis.Advisories.Storage;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Shared.Hosting;
using Dcis.Crisis.Shared.Storage;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace Dcis.Crisis.Advisories;

/// <summary>The advisories service: app id <c>advisories</c>, HTTP 5300, gRPC 5301, database <c>advisories.db</c>.</summary>
public static class AdvisoriesApp
{
    public const string AppId = "advisories";

    private static readonly PathString WatchPath = "/" + AdvisoriesService.Descriptor.FullName + "/WatchAdvisories";

    public static WebApplication Create(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        var options = builder.AddCrisisDefaults(AppId, 5300, 5301);
        builder.AddAdvisories(options);

        var app = builder.Build();
        app.Services.GetRequiredService<SqliteDatabase>().MigrateAsync(AdvisoriesSchema.Ddl, CancellationToken.None).GetAwaiter().GetResult();
        // A WatchAdvisories call is one small request message, then a response stream that lives for
        // hours on an HTTP/2 connection shared with hundreds of other companies' streams. Kestrel's
        // minimum request-body rate (240 B/s after 5 s) is checked per connection: on a CPU-starved box it
        // aborted whole connections of open streams (AdvisoriesBench: 14 such timeouts, 369 streams
        // broken and reopened in one run). It protects nothing on this request, so it is off for it.
        app.Use((context, next) =>
        {
            if (context.Request.Path.Equals(WatchPath) && context.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rate)
            {
                rate.MinDataRate = null;
            }

            return next(context);
        });
        app.MapCrisisDefaults();
        app.MapGrpcService<AdvisoriesGrpcService>();
        app.MapAdvisoryFeeds();
        app.MapAdvisoriesSubscriptions();
        return app;
    }
}
