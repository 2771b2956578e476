using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace Dcis.Crisis.Shared.Hosting;

/// <summary>
/// Watch streams (threat-level changes, presence, inbox, advisories) are one small request message and
/// then a response stream that lives for hours, on HTTP/2 connections that carry many of them. Kestrel's
/// minimum request-body data rate (240 B/s after a 5 s grace) is enforced per connection: on a
/// CPU-starved host it aborted whole connections of open advisory streams (AdvisoriesBench: hundreds
/// of streams broken and reopened per run). Grpc.AspNetCore lifts it for client and duplex streaming
/// only; on a server-streaming call it protects nothing, so it is lifted there too.
/// </summary>
public static class LongLivedStreams
{
    /// <summary>Lifts the minimum request-body data rate on server-streaming gRPC calls (needs routing first).</summary>
    public static IApplicationBuilder UseLongLivedStreams(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Use((context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>() is { Method.Type: MethodType.ServerStreaming } &&
                context.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rate)
            {
                rate.MinDataRate = null;
            }

            return next(context);
        });
    }
}
